/** `node --import` this to log every module a run resolves into $GAUGE_MODULE_LOG (module-log.ts). */
import { register } from 'node:module';

const file = process.env.GAUGE_MODULE_LOG;
if (!file) throw new Error('module-log-register: set GAUGE_MODULE_LOG to the file to write');
register('./module-log.js', import.meta.url, { data: { file } });
