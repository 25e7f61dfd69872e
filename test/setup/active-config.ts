// Installs the configuration of the test process's environment (CHARADES_DATA, CHARADES_CACHE, …) as the CLI does at
// start-up, so library defaults in in-process tests follow it: `node --import tsx --import ./test/setup/active-config.ts
// --test …`. Without it the checkout's defaults apply (../shared/data/motion, .cache/, models/).
import { loadConfig, setActiveConfig } from '../../src/config/index.js';

setActiveConfig(loadConfig());
