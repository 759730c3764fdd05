#ifndef CSPAWN_H
#define CSPAWN_H

#include <spawn.h>

/// pipe2(fds, O_CLOEXEC): both ends close-on-exec from the start, with no window for a concurrent spawn to inherit
/// them. Glibc's Swift module does not export pipe2. Returns 0, or -1 with errno set.
int cspawn_pipe_cloexec(int fds[2]);

/// Adds "close every descriptor from `lowest` up" to `actions`, so that a child keeps only what it was given
/// explicitly (glibc 2.34+). Returns 0, or an error number: ENOSYS where the C library lacks it.
int cspawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int lowest);

#endif
