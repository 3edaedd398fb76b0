-- wrk script of `cargo xtask bench`: every request posts a new, valid receipt for site bench-kz
-- (unique receipt ids; two receipts per consent id, the first a decision, the second a change).
local counter = 0
local hash = string.rep("a", 64)

request = function()
  counter = counter + 1
  local id = string.format("00000000-0000-4000-8000-%012x", counter)
  local consent = string.format("11111111-1111-4000-8111-%012x", math.floor(counter / 2))
  local action = "custom"
  if counter % 2 == 0 then action = "accept_all" end
  local body = '{"receipt_id":"' .. id .. '","consent_id":"' .. consent ..
    '","site":"bench-kz","policy_version":"2026-11-01","policy_url":"https://bench.kz/ru/privacy",' ..
    '"revision":1,"language":"ru","action":"' .. action .. '",' ..
    '"granted_categories":["analytics","necessary"],"denied_categories":["marketing"],' ..
    '"granted_services":["google-analytics","yandex-metrika"],"denied_services":["meta-pixel","vk-ads"],' ..
    '"countries":["US","RU"],"variant":"a","texts_hash":"' .. hash .. '","operator":"TOO Bench",' ..
    '"bin":"180540012345","expires_at":"2027-11-22T08:00:00Z","method":"button:save",' ..
    '"page_url":"https://bench.kz/catalog/lenses",' ..
    '"user_agent":"Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",' ..
    '"client_time":"2026-11-22T08:00:00Z"}'
  return wrk.format("POST", "/v1/receipts",
    { ["Content-Type"] = "application/json", ["Origin"] = "https://bench.kz" }, body)
end
