npx maintenance-mode on --message "Upgrading the database" --end +1h
npx maintenance-mode on --start +12h --end +13h            # a scheduled window, tonight
npx maintenance-mode status --json
npx maintenance-mode off --interactive          # asks y/N first; declining exits 1 and changes nothing
npx maintenance-mode on --secret --read-only    # a bypass URL for this window; writes blocked, reads served
npx maintenance-mode on                         # while on: a dry run goes live, a window starts now, the secret is revoked
npx maintenance-mode history --limit 10
npx maintenance-mode token list                 # API tokens (never the token itself): see "From a pipeline"
npx maintenance-mode why /api/orders --ip 10.0.0.7 -c ./maintenance.config.cjs
npx maintenance-mode help
