import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A barrier for a team of threads that meet every timestep. Each member publishes how many steps it has
/// finished in a counter of its own cache line and waits until every other member has finished as many:
/// no shared read-modify-write, one cache-line transfer per peer. Waiters spin briefly (a step at batch 1
/// lasts a few microseconds, far less than a sleep and wake-up), then yield the core.
package final class StepBarrier: @unchecked Sendable {
    private final class Counter {
        let value = Atomic<Int>(0)
        // Keeps each counter on its own cache line.
        let padding: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    }
    private let counters: [Counter]

    package init(parties: Int) {
        counters = (0..<max(1, parties)).map { _ in Counter() }
    }

    /// Member `index` of `parties` (at most the count given at creation) has finished a phase.
    package func wait(_ index: Int, parties: Int) {
        guard parties > 1 else { return }
        let reached = counters[index].value.wrappingAdd(1, ordering: .releasing).newValue
        for peer in 0..<parties where peer != index {
            spinUntil { counters[peer].value.load(ordering: .acquiring) >= reached }
        }
    }
}

/// Spins until `done()` (a step at batch 1 lasts a few microseconds, far less than a sleep and wake-up),
/// yielding the core after the first few thousand tries.
@inline(__always)
func spinUntil(_ done: () -> Bool) {
    var spins = 0
    while !done() {
        spins += 1
        if spins > 4_000 { sched_yield() }
    }
}

/// Runs `body(i, n)` for i in 0..<n on n threads (the caller runs 0) and returns when all are done. n is
/// `requested`, or fewer when the system refuses threads; bodies learn n before they start, so they can
/// share the work among exactly the threads that exist.
package func runTeam(_ requested: Int, _ body: @escaping @Sendable (Int, Int) -> Void) {
    guard requested > 1 else {
        body(0, 1)
        return
    }
    #if canImport(Glibc)
    if TeamPool.shared.run(requested, body) { return }
    #endif
    final class Team: @unchecked Sendable {
        let body: @Sendable (Int, Int) -> Void
        let size = Atomic<Int>(0)
        let placement = CPUPlacement()
        init(_ body: @escaping @Sendable (Int, Int) -> Void) { self.body = body }
    }
    final class Member: @unchecked Sendable {
        let team: Team
        let index: Int
        init(_ team: Team, _ index: Int) {
            self.team = team
            self.index = index
        }
    }
    let team = Team(body)
    var threads: [pthread_t] = []
    for index in 1..<requested {
        let member = Unmanaged.passRetained(Member(team, index)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { context in
            let member = Unmanaged<Member>.fromOpaque(context!).takeRetainedValue()
            var size = member.team.size.load(ordering: .acquiring)
            while size == 0 {
                sched_yield()
                size = member.team.size.load(ordering: .acquiring)
            }
            member.team.placement?.place(member: member.index, of: size)
            member.team.body(member.index, size)
            return nil
        }, member)
        guard status == 0 else {
            Unmanaged<Member>.fromOpaque(member).release()
            break
        }
        threads.append(thread)
    }
    team.size.store(threads.count + 1, ordering: .releasing)
    body(0, threads.count + 1)
    for thread in threads { pthread_join(thread, nil) }
}
