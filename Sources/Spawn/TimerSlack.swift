import CSpawn

/// How late the kernel may end the calling thread's timed sleeps, so that one wake-up serves several timers: 50 µs
/// for a thread nobody set it for (Linux's `prctl(PR_SET_TIMERSLACK)`). A thread that sleeps until an instant and
/// then measures from that instant counts the slack as its own lateness; it sets the least slack there is.
public enum TimerSlack {
    /// The calling thread's slack in nanoseconds; `nil` where the system cannot say (not Linux).
    public static var current: Int? {
        let slack = cspawn_timer_slack()
        return slack >= 0 ? slack : nil
    }

    /// Lets the calling thread's timed sleeps end as close to their time as the kernel can (1 ns of slack: 0 would
    /// restore the default). Threads it starts from now on inherit it. Returns `false` where the system refuses or
    /// cannot (not Linux).
    @discardableResult
    public static func wakeOnTime() -> Bool {
        cspawn_set_timer_slack(1) == 0
    }
}
