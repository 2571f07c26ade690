import Synchronization

/// Lets `limit` requests run at once; the rest wait in arrival order.
final class ConcurrencyLimiter: Sendable {
    private let state: Mutex<(active: Int, waiting: [@Sendable () -> Void], head: Int)>
    let limit: Int

    init(limit: Int) {
        self.limit = limit
        state = Mutex((0, [], 0))
    }

    /// Runs `start` now if a slot is free, else when one frees up (FIFO).
    func acquire(_ start: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.active < limit {
                state.active += 1
                return true
            }
            state.waiting.append(start)
            return false
        }
        if runNow { start() }
    }

    /// Frees a slot, handing it to the longest-waiting request if any.
    func release() {
        let next = state.withLock { state -> (@Sendable () -> Void)? in
            guard state.head < state.waiting.count else {
                state.active -= 1
                return nil
            }
            let next = state.waiting[state.head]
            state.head += 1
            if state.head > 1024 && state.head * 2 > state.waiting.count {
                state.waiting.removeFirst(state.head)
                state.head = 0
            }
            return next
        }
        next?()
    }
}
