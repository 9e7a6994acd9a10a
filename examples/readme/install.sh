npm install koa-maintenance-mode koa keyv typedi reflect-metadata class-validator class-transformer @koa/router
npm install --save-dev @types/koa                     # TypeScript apps (@koa/router ships its own types)
# optional: @keyv/redis or @keyv/postgres + pg (shared state), routing-controllers, @opentelemetry/api (metrics),
# bullmq (workers that pause during maintenance; bullmq 6 wants its ioredis peer installed too)
