// maintenance.config.cjs — what `maintenance-mode --config` reads: the store, and the middleware options of `why`
module.exports = {
  stateFilePath: './maintenance_mode_state.json', // or redisUrl: process.env.REDIS_URL, or postgresUrl: …
  maintenance: { ignoreIpAddresses: ['10.0.0.0/8'], healthPaths: true },
};
