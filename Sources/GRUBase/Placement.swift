#if canImport(Glibc)
import Glibc

/// Starts each member of a team on a CPU of its own. Linux wakes a new thread on its creator's CPU
/// (wake-affine), and two threads that meet at a step barrier every few microseconds then share one core
/// until the load balancer separates them, often not within a whole forward pass: such passes took 2-3x
/// as long. A member moves itself to the allowed CPU `index` places after its creator's and at once lifts
/// the restriction again, so the scheduler stays free to move it later. glibc declares the affinity calls
/// only under _GNU_SOURCE, which Swift's Glibc module does not see, so they are looked up by name.
struct CPUPlacement: @unchecked Sendable {
    private let allowed: cpu_set_t
    private let cpus: [Int32]   // the allowed CPUs, in order
    private let origin: Int     // the creator's CPU's position in `cpus`

    /// The creator's placement, or nil when there is nothing to choose (one CPU, or the calls are missing).
    init?() {
        guard let calls = affinityCalls else { return nil }
        var allowed = cpu_set_t()
        guard calls.get(0, MemoryLayout<cpu_set_t>.size, &allowed) == 0 else { return nil }
        let mine = calls.cpu()
        var cpus: [Int32] = []
        withUnsafeBytes(of: &allowed) { bits in
            for cpu in 0..<(bits.count * 8) where bits[cpu / 8] & (1 << (cpu % 8)) != 0 { cpus.append(Int32(cpu)) }
        }
        guard cpus.count > 1, let origin = cpus.firstIndex(of: mine) else { return nil }
        self.allowed = allowed
        self.cpus = cpus
        self.origin = origin
    }

    /// The CPU the calling thread is on.
    static var currentCPU: Int32? { affinityCalls?.cpu() }

    /// Called by member `index` of a team of `size` on its own thread: to the allowed CPU `index` places
    /// after the creator's, or after `cpu`'s.
    func place(member index: Int, of size: Int, after cpu: Int32? = nil) {
        guard size <= cpus.count, let calls = affinityCalls else { return }
        var allowed = allowed, one = cpu_set_t()
        let base = cpu.flatMap { cpus.firstIndex(of: $0) } ?? origin
        let target = Int(cpus[(base + index) % cpus.count])
        withUnsafeMutableBytes(of: &one) { $0[target / 8] |= UInt8(1 << (target % 8)) }
        if calls.set(0, MemoryLayout<cpu_set_t>.size, &one) == 0 {
            _ = calls.set(0, MemoryLayout<cpu_set_t>.size, &allowed)
        }
    }
}

/// The CPU each member of a team of `count` is on as its work begins, or nil where the system cannot say;
/// each member then keeps its CPU busy for `busy` seconds. For checking that members start apart.
public func teamStartCPUs(_ count: Int, busy: Double = 0) -> [Int]? {
    guard let calls = affinityCalls, count > 0 else { return nil }
    let cpus = UnsafeMutablePointer<Int>.allocate(capacity: count)
    defer { cpus.deallocate() }
    cpus.initialize(repeating: -1, count: count)
    let slots = UnsafeSendablePointer(cpus)
    runTeam(count) { index, _ in
        slots.pointer[index] = Int(calls.cpu())
        var now = timespec(), end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &end)
        let until = Double(end.tv_sec) + Double(end.tv_nsec) / 1e9 + busy
        repeat { clock_gettime(CLOCK_MONOTONIC, &now) } while Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 < until
    }
    return Array(UnsafeBufferPointer(start: cpus, count: count))
}

/// Each member writes its own slot; runTeam returns after every member has finished.
private struct UnsafeSendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Int>
    init(_ pointer: UnsafeMutablePointer<Int>) { self.pointer = pointer }
}

private struct AffinityCalls: @unchecked Sendable {
    typealias Set = @convention(c) (pid_t, Int, UnsafeRawPointer) -> Int32
    typealias Get = @convention(c) (pid_t, Int, UnsafeMutableRawPointer) -> Int32
    typealias CPU = @convention(c) () -> Int32
    let set: Set
    let get: Get
    let cpu: CPU
}

private let affinityCalls: AffinityCalls? = {
    guard let set = dlsym(nil, "sched_setaffinity"), let get = dlsym(nil, "sched_getaffinity"),
          let cpu = dlsym(nil, "sched_getcpu") else { return nil }
    return AffinityCalls(set: unsafeBitCast(set, to: AffinityCalls.Set.self), get: unsafeBitCast(get, to: AffinityCalls.Get.self),
                         cpu: unsafeBitCast(cpu, to: AffinityCalls.CPU.self))
}()
#else
struct CPUPlacement: Sendable {
    init?() { return nil }
    static var currentCPU: Int32? { nil }
    func place(member index: Int, of size: Int, after cpu: Int32? = nil) {}
}

public func teamStartCPUs(_ count: Int, busy: Double = 0) -> [Int]? { nil }
#endif
