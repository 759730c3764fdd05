#define _GNU_SOURCE
#include "CSpawn.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int cspawn_pipe_cloexec(int fds[2]) {
#if defined(__linux__)
    return pipe2(fds, O_CLOEXEC);
#else
    if (pipe(fds) != 0) return -1;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
#endif
}

int cspawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int lowest) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
#else
    (void)actions;
    (void)lowest;
    return ENOSYS;
#endif
}

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif
#include <sys/socket.h>
#include <sys/wait.h>

extern char **environ;

int cspawn_socketpair_cloexec(int fds[2]) {
#if defined(__linux__)
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
#else
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return -1;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
#endif
}

int cspawn_fork_server_request(int control, int input, int output) {
    char byte = 'S';
    struct iovec vector = {.iov_base = &byte, .iov_len = 1};
    union {
        char buffer[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } control_message;
    memset(&control_message, 0, sizeof(control_message));
    struct msghdr message = {0};
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control_message.buffer;
    message.msg_controllen = sizeof(control_message.buffer);
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(2 * sizeof(int));
    int descriptors[2] = {input, output};
    memcpy(CMSG_DATA(header), descriptors, sizeof(descriptors));
    for (;;) {
        ssize_t sent = sendmsg(control, &message, MSG_NOSIGNAL);
        if (sent == 1) return 0;
        if (sent < 0 && errno == EINTR) continue;
        return -1;
    }
}

int cspawn_read_record(int control, struct cspawn_record *record) {
    char *cursor = (char *)record;
    size_t left = sizeof(*record);
    while (left > 0) {
        ssize_t got = read(control, cursor, left);
        if (got == 0) return 0;
        if (got < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        cursor += got;
        left -= (size_t)got;
    }
    return 1;
}

/// Writes a whole record; a driver that is gone (EPIPE) is ignored: the server still reaps its children.
static void send_record(int control, const struct cspawn_record *record) {
    const char *cursor = (const char *)record;
    size_t left = sizeof(*record);
    while (left > 0) {
        ssize_t sent = send(control, cursor, left, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            return;
        }
        cursor += sent;
        left -= (size_t)sent;
    }
}

/// Receives one request: 1 with the two descriptors, 0 at end of stream, -1 with errno set.
static int receive_request(int control, int *input, int *output) {
    char byte = 0;
    struct iovec vector = {.iov_base = &byte, .iov_len = 1};
    union {
        char buffer[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } control_message;
    struct msghdr message = {0};
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control_message.buffer;
    message.msg_controllen = sizeof(control_message.buffer);
#if defined(MSG_CMSG_CLOEXEC)
    int flags = MSG_CMSG_CLOEXEC;
#else
    int flags = 0;
#endif
    ssize_t got = recvmsg(control, &message, flags);
    if (got <= 0) return (int)got;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    if (header == NULL || header->cmsg_type != SCM_RIGHTS || header->cmsg_len != CMSG_LEN(2 * sizeof(int))) {
        errno = EPROTO;
        return -1;
    }
    int descriptors[2];
    memcpy(descriptors, CMSG_DATA(header), sizeof(descriptors));
    *input = descriptors[0];
    *output = descriptors[1];
    return 1;
}

/// The number of threads of this process, from /proc/self/status; 0 where it cannot be read.
static int thread_count(void) {
    FILE *status = fopen("/proc/self/status", "re");
    if (status == NULL) return 0;
    char line[256];
    int threads = 0;
    while (fgets(line, sizeof(line), status) != NULL) {
        if (sscanf(line, "Threads: %d", &threads) == 1) break;
    }
    fclose(status);
    return threads;
}

static const int reset_signals[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD};

/// In a forked child: the worker's descriptors become stdin and stdout, nothing else of the server's stays open,
/// and signals are as a freshly spawned process finds them.
static void become_worker(int input, int output) {
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
    for (size_t index = 0; index < sizeof(reset_signals) / sizeof(reset_signals[0]); index++) {
        signal(reset_signals[index], SIG_DFL);
    }
    dup2(input, 0);
    dup2(output, 1);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    closefrom(3);
#else
    if (input > 2) close(input);
    if (output > 2) close(output);
#endif
}

/// Starts a child with posix_spawn of the worker program: for a server that cannot fork safely.
static pid_t spawn_worker(const char *path, char *const argv[], int input, int output) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, input, 0);
    posix_spawn_file_actions_adddup2(&actions, output, 1);
    cspawn_file_actions_addclosefrom(&actions, 3);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    for (size_t index = 0; index < sizeof(reset_signals) / sizeof(reset_signals[0]); index++) {
        sigaddset(&defaults, reset_signals[index]);
    }
    posix_spawnattr_setsigmask(&attributes, &empty);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    int status = posix_spawn(&pid, path, &actions, &attributes, argv, environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    if (status != 0) {
        errno = status;
        return -1;
    }
    return pid;
}

static int64_t microseconds(struct timeval value) { return (int64_t)value.tv_sec * 1000000 + value.tv_usec; }

/// Sets the name the kernel shows for this process (Linux only).
static void set_name(const char *name) {
#if defined(__linux__)
    if (name != NULL) prctl(PR_SET_NAME, name, 0, 0, 0);
#else
    (void)name;
#endif
}

int cspawn_fork_server(int control, const char *path, char *const argv[], const char *server_name,
                       const char *child_name) {
    set_name(server_name);
    signal(SIGPIPE, SIG_IGN);
    // Ctrl-C and SIGTERM are for the driver, which stops its workers in order; the server ends with its requests.
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    int forks = thread_count() == 1;
    struct cspawn_record hello = {.tag = CSPAWN_HELLO, .pid = getpid(), .error = forks};
    send_record(control, &hello);
    int accepting = 1;
    long children = 0;
    while (accepting || children > 0) {
        if (accepting) {
            struct pollfd ready = {.fd = control, .events = POLLIN};
            int polled = poll(&ready, 1, children > 0 ? 20 : -1);
            if (polled < 0 && errno != EINTR) return -1;
            if (polled > 0) {
                int input = -1, output = -1;
                int received = receive_request(control, &input, &output);
                if (received < 0 && errno == EINTR) continue;
                if (received <= 0) {
                    accepting = 0;
                } else {
                    pid_t pid = -1;
                    if (forks) {
                        pid = fork();
                        if (pid == 0) {
                            set_name(child_name);
                            become_worker(input, output);
                            return 0;
                        }
                    } else {
                        pid = spawn_worker(path, argv, input, output);
                    }
                    struct cspawn_record reply = {.tag = pid > 0 ? CSPAWN_SPAWNED : CSPAWN_SPAWN_FAILED};
                    reply.pid = pid;
                    reply.error = pid > 0 ? 0 : errno;
                    close(input);
                    close(output);
                    send_record(control, &reply);
                    if (pid > 0) children++;
                }
            }
        }
        // Reap: without blocking while requests may come, blocking once they have ended.
        int flags = accepting ? WNOHANG : 0;
        while (children > 0) {
            int status = 0;
            struct rusage usage;
            memset(&usage, 0, sizeof(usage));
            pid_t ended = wait4(-1, &status, flags, &usage);
            if (ended == 0) break;
            if (ended < 0) {
                if (errno == EINTR) continue;
                if (errno == ECHILD) children = 0;
                break;
            }
            children--;
            struct cspawn_record record = {
                .tag = CSPAWN_EXITED,
                .pid = ended,
                .status = status,
                .user_microseconds = microseconds(usage.ru_utime),
                .system_microseconds = microseconds(usage.ru_stime),
                .voluntary_switches = usage.ru_nvcsw,
                .involuntary_switches = usage.ru_nivcsw,
                .max_resident_kilobytes = usage.ru_maxrss,
                .minor_faults = usage.ru_minflt,
            };
            send_record(control, &record);
            flags = WNOHANG;
        }
    }
    return 1;
}

#if defined(__linux__)
#include <sched.h>

int cspawn_allowed_cpus(int *cpus, int capacity) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    int count = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && count < capacity; cpu++) {
        if (CPU_ISSET(cpu, &set)) cpus[count++] = cpu;
    }
    return count;
}

int cspawn_run_on_cpus(const int *cpus, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) {
            errno = EINVAL;
            return -1;
        }
        CPU_SET(cpus[i], &set);
    }
    return sched_setaffinity(0, sizeof set, &set);
}
#else
int cspawn_allowed_cpus(int *cpus, int capacity) {
    (void)cpus;
    (void)capacity;
    errno = ENOSYS;
    return -1;
}

int cspawn_run_on_cpus(const int *cpus, int count) {
    (void)cpus;
    (void)count;
    errno = ENOSYS;
    return -1;
}
#endif

#if defined(__linux__)

int cspawn_set_timer_slack(unsigned long nanoseconds) { return prctl(PR_SET_TIMERSLACK, nanoseconds, 0, 0, 0); }

long cspawn_timer_slack(void) { return (long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0); }
#else
int cspawn_set_timer_slack(unsigned long nanoseconds) {
    (void)nanoseconds;
    errno = ENOSYS;
    return -1;
}

long cspawn_timer_slack(void) {
    errno = ENOSYS;
    return -1;
}
#endif
