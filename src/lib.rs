//! kelisim browser SDK.
