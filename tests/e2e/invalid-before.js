window.e2e = { events: [], ran: [] };
