npx maintenance-mode fleet                        # host, pid, version, applied, in flight, held, last seen
npx maintenance-mode on --message "Migrating" --wait --timeout 30s   # exit 0 once every instance applied it and drained
npx maintenance-mode off
npx maintenance-mode run --message "Migrating" --lease 60s -- node -e "console.log('migrating…')"
