# The README's pipeline, run by test/readme.test.ts against the app of api.mts (started here on a free port).
node "$README_REPO/build/examples/readme/api.mjs" serve > app.port &
app=$!
trap 'kill $app' EXIT
for _ in $(seq 600); do [ -s app.port ] && break; sleep 0.1; done   # up to 60 s: a busy machine starts node slowly
APP_URL="http://127.0.0.1:$(cat app.port)"
echo "console.log('migrating…')" > migrate.js
# #region token
npx maintenance-mode token create --label deploy-bot --allow on,off,read --ttl 90d --json > token.json
# store its "token" as the CI secret MAINTENANCE_TOKEN (it is shown once; the store keeps a hash)
# #endregion
MAINTENANCE_TOKEN=$(node -p 'require("./token.json").token')
rm token.json
# #region readme
api="$APP_URL/maintenance-mode/api"
auth="Authorization: Bearer $MAINTENANCE_TOKEN"
end=$(date -u -d '+30 min' +%Y-%m-%dT%H:%M:%SZ)
curl -fsS -X POST "$api/on" -H "$auth" -H 'Content-Type: application/json' \
  -d "{\"message\": \"Deploying, back by $end\", \"end\": \"$end\"}"
curl -fsS -X POST "$api/wait" -H "$auth" -H 'Content-Type: application/json' -d '{"timeoutMs": 60000}'
node migrate.js
curl -fsS -X POST "$api/off" -H "$auth"
# #endregion
test "$(curl -s -o /dev/null -w '%{http_code}' "$APP_URL/")" = 200
npx maintenance-mode history --limit 2 | grep -q 'token:deploy-bot'
