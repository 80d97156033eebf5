/* ctool's callgrind toggle: `ctool ab --measure instructions` runs each worker under
 * `valgrind --tool=callgrind --collect-atstart=no` and calls ctool_callgrind_toggle()
 * (through ctypes) just before and just after its measured episodes, so that the count
 * holds those episodes only. Built by .ci/run, or on first use, with Debian's compiler and
 * Valgrind's headers (apt-get install valgrind gcc). */
#include <valgrind/callgrind.h>

void ctool_callgrind_toggle(void) { CALLGRIND_TOGGLE_COLLECT; }

int ctool_running_on_valgrind(void) { return RUNNING_ON_VALGRIND; }
