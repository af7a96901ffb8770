// Debian's libduktape is built without DUK_USE_EXEC_TIMEOUT_CHECK, so a running function cannot
// be interrupted from outside. Instead the source is rewritten before compiling: every loop
// condition first calls a guard (`while (c)` -> `while (<guard>() && (c))`, `for (a; c; b)` ->
// `for (a; <guard>() && (c); b)`, `for (;;)` -> `for (; <guard>(); )`), and the guard throws
// once a call has used its step budget. Recursion is bounded by Duktape's call stack limit.
// for-in loops are finite and left alone. Code built at run time (eval, new Function) and
// catastrophic regular expressions are not guarded.
#pragma once
#include <string>
#include <string_view>

namespace couchkv::mock::views {

std::string guard_loops(std::string_view source, std::string_view guard_name);

} // namespace couchkv::mock::views
