#ifndef CSPAWN_H
#define CSPAWN_H

#include <spawn.h>
#include <stdint.h>

/// pipe2(fds, O_CLOEXEC): both ends close-on-exec from the start, with no window for a concurrent spawn to inherit
/// them. Glibc's Swift module does not export pipe2. Returns 0, or -1 with errno set.
int cspawn_pipe_cloexec(int fds[2]);

/// Adds "close every descriptor from `lowest` up" to `actions`, so that a child keeps only what it was given
/// explicitly (glibc 2.34+). Returns 0, or an error number: ENOSYS where the C library lacks it.
int cspawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int lowest);

/// One message of the fork server to its driver: fixed size, so a reader needs no framing.
struct cspawn_record {
    /// CSPAWN_HELLO, CSPAWN_SPAWNED, CSPAWN_SPAWN_FAILED or CSPAWN_EXITED.
    int32_t tag;
    /// The server's pid (hello), the new child's (spawned), the ended child's (exited).
    int32_t pid;
    /// The wait status (exited).
    int32_t status;
    /// An error number (spawn failed); for hello, 1 when the server forks and 0 when it must spawn (threads).
    int32_t error;
    int64_t user_microseconds;
    int64_t system_microseconds;
    int64_t voluntary_switches;
    int64_t involuntary_switches;
    /// Peak resident set in kilobytes, as Linux's ru_maxrss.
    int64_t max_resident_kilobytes;
    /// Page faults served without I/O, as ru_minflt.
    int64_t minor_faults;
};

enum { CSPAWN_HELLO = 0, CSPAWN_SPAWNED = 1, CSPAWN_SPAWN_FAILED = 2, CSPAWN_EXITED = 3 };

/// socketpair(AF_UNIX, SOCK_STREAM) with both ends close-on-exec. Returns 0, or -1 with errno set.
int cspawn_socketpair_cloexec(int fds[2]);

/// Asks the fork server on `control` for one child whose stdin is `input` and stdout `output` (passed with
/// SCM_RIGHTS). Returns 0, or -1 with errno set.
int cspawn_fork_server_request(int control, int input, int output);

/// Reads one whole record from the server. Returns 1, 0 at end of stream, or -1 with errno set.
int cspawn_read_record(int control, struct cspawn_record *record);

/// The fork server's loop, run in a process of its own on `control` (its stdin, a Unix socket): for every request
/// it forks a child whose stdin and stdout are the descriptors passed, and reports its pid; it reaps every child with
/// wait4 and reports how it ended and what it used; at end of stream it waits for the children left, then returns.
/// A server with more than one thread (where fork would copy one thread of several) starts each child with
/// posix_spawn of `path` and `argv` instead.
///
/// On Linux the server names itself `server_name` and every forked child `child_name` (the name `ps -o comm`, `top`
/// and /proc/PID/comm show, at most 15 bytes), since both share one command line.
///
/// Returns 0 in a forked child, which must now run the worker and exit; 1 in the server when every child has been
/// reaped after the end of requests; -1 when the server could not run.
int cspawn_fork_server(int control, const char *path, char *const argv[], const char *server_name,
                       const char *child_name);

/// The CPUs the calling thread may run on (sched_getaffinity), lowest first, into `cpus`, which has room for
/// `capacity`. Returns how many, or -1 with errno set (ENOSYS off Linux).
int cspawn_allowed_cpus(int *cpus, int capacity);

/// Restricts the calling thread, and every process it starts from now on, to the `count` CPUs in `cpus`
/// (sched_setaffinity). Returns 0, or -1 with errno set (ENOSYS off Linux).
int cspawn_run_on_cpus(const int *cpus, int count);

/// Sets the calling thread's timer slack (prctl PR_SET_TIMERSLACK): how late the kernel may end its timed sleeps, to
/// serve several timers with one wake-up. 0 restores the thread's default. Returns 0, or -1 with errno set (ENOSYS
/// off Linux).
int cspawn_set_timer_slack(unsigned long nanoseconds);

/// The calling thread's timer slack in nanoseconds (prctl PR_GET_TIMERSLACK), or -1 with errno set (ENOSYS off
/// Linux).
long cspawn_timer_slack(void);

#endif
