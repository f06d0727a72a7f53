// The labeling page: sign in, the member's tasks, a keyboard-first labeling view for image
// classification, boxes (drawn, moved, resized, nudged), text classification and named entities
// (spans counted in Unicode code points, as the API counts them), and a review view (pass with a
// score or reject with a comment, one key each, other labelers' copies beside). Everything goes
// through the public API with the token in the X-Auth-Token header, never in a URL. Labels are
// saved through the team batch update with the copy's version and an X-Idempotency-Key; a draft
// of unsaved work is kept in localStorage until the server has it. All text is set as text.

//
// The parts: common.js (shared helpers), api.js (session and requests), keys.js (shortcuts),
// views.js (sign-in, tasks, the owner's view), editor.js and marks.js (the labeling and review
// view), input.js (mouse and keyboard). Plain ES modules, served as they are.

import { session } from "./api.js";
import { show, signOut, openTasks } from "./views.js";
import "./input.js";

if (session.get()) openTasks().catch(() => signOut("")); else show("sign-in");
