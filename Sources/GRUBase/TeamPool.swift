import Synchronization
#if canImport(Glibc)
import Glibc

/// Worker threads kept from one forward pass to the next. Creating a thread and moving it to a CPU of its
/// own took 100-200 us, as long as a whole pass of a small layer. Between jobs a worker spins for about
/// 100 us (passes often follow each other: a benchmark, CSV batches, stacked layers), then sleeps on a
/// condition variable. One team at a time has the pool; a caller that finds it taken (a pass on another
/// thread, or a pass inside a pass) gets threads of its own (`runTeam`).
final class TeamPool: @unchecked Sendable {
    static let shared = TeamPool()

    private let taken = Atomic<Bool>(false)
    /// `generation * 1024 + team size`, raised once per job: a worker reads both in one load.
    private let job = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    /// The CPU the caller was on when it published the job.
    private let callerCPU = Atomic<Int>(-1)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// The job's body; written before `job` is raised, read only by the job's members, who finish before
    /// the next write.
    private var body: (@Sendable (Int, Int) -> Void)?
    /// Workers started so far; changed only by the pool's holder.
    private var workers = 0
    static let maximumTeam = 1023

    private init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        // A forked child has none of the workers (only the forking thread survives a fork).
        pthread_atfork(nil, nil) { TeamPool.shared.forgetWorkers() }
    }

    private func forgetWorkers() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        workers = 0
        body = nil
        taken.store(false, ordering: .relaxed)
    }

    /// Runs `body(i, n)` for i in 0..<n, n = `requested` or fewer when the system refuses threads, the
    /// caller running 0. False, with nothing run, when another team has the pool.
    func run(_ requested: Int, _ body: @escaping @Sendable (Int, Int) -> Void) -> Bool {
        guard requested <= TeamPool.maximumTeam,
              taken.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { taken.store(false, ordering: .releasing) }
        let current = job.load(ordering: .relaxed)
        let placement = workers < requested - 1 ? CPUPlacement() : nil
        while workers < requested - 1 && startWorker(index: workers + 1, after: current, team: requested, placement: placement) {
            workers += 1
        }
        let size = min(requested, workers + 1)
        self.body = body
        finished.store(0, ordering: .relaxed)
        callerCPU.store(Int(CPUPlacement.currentCPU ?? -1), ordering: .relaxed)
        pthread_mutex_lock(mutex)
        job.store((current / 1024 + 1) * 1024 + size, ordering: .releasing)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
        body(0, size)
        spinUntil { finished.load(ordering: .acquiring) >= size - 1 }
        self.body = nil
        return true
    }

    private final class Start {
        let pool: TeamPool, index: Int, after: Int, placement: CPUPlacement?, team: Int
        init(_ pool: TeamPool, _ index: Int, _ after: Int, _ team: Int, _ placement: CPUPlacement?) {
            self.pool = pool
            self.index = index
            self.after = after
            self.team = team
            self.placement = placement
        }
    }

    private func startWorker(index: Int, after current: Int, team: Int, placement: CPUPlacement?) -> Bool {
        let start = Unmanaged.passRetained(Start(self, index, current, team, placement)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { context in
            let start = Unmanaged<Start>.fromOpaque(context!).takeRetainedValue()
            start.placement?.place(member: start.index, of: start.team)
            start.pool.work(start.index, seen: start.after, placement: start.placement)
        }, start)
        guard status == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            return false
        }
        pthread_detach(thread)
        return true
    }

    private func work(_ index: Int, seen first: Int, placement: CPUPlacement?) -> Never {
        var seen = first
        while true {
            var now = job.load(ordering: .acquiring), spins = 0
            while now == seen {
                spins += 1
                if spins > 200_000 {
                    pthread_mutex_lock(mutex)
                    while job.load(ordering: .acquiring) == seen { pthread_cond_wait(condition, mutex) }
                    pthread_mutex_unlock(mutex)
                    spins = 0
                }
                now = job.load(ordering: .acquiring)
            }
            seen = now
            let size = now % 1024
            if index < size {
                // Woken from its sleep, a worker may find itself on the caller's CPU.
                let caller = callerCPU.load(ordering: .relaxed)
                if let placement, let mine = CPUPlacement.currentCPU, Int(mine) == caller {
                    placement.place(member: index, of: size, after: mine)
                }
                body?(index, size)
                finished.add(1, ordering: .releasing)
            }
        }
    }
}
#endif
