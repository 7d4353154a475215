// GOV.UK Frontend's components: the error summary's focus, the service navigation's menu on
// small screens, and the rest. Loaded as a module (CSP: no inline script), copied next to
// govuk-frontend.min.js by services/portal/build.py. Every page works without it.
import { initAll } from "./govuk/govuk-frontend.min.js";

initAll();
