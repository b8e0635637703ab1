import GRUBase

/// The matrix products of a forward pass: the input projection of a chunk of timesteps and the recurrent
/// product of one step, on the packed panels (Panels.swift).
extension FastEngine {
    /// Rows per block of the three-gate kernels: four, or three for doubles where registers are few
    /// (`multiply3x3`).
    var rowBlock: Int { Self.rowBlock }
    static var rowBlock: Int { S.self == Double.self && doublesInThreeRowBlocks ? 3 : 4 }

    /// x·W + b_in for the chunk's input times `low ..< low+count` of `samples`, onto `panels`. The input rows a
    /// step will use are first copied together into `gathered` (at most `samples.count * count` rows of
    /// `features`), so the kernels read them at one stride in blocks of eight; rows a mask masks are left out
    /// (their step never reads its projection), so padding costs no projection at all.
    func project(samples: Range<Int>, panels: Range<Int>, low: Int, count: Int, rows input: InputRows, gathered: UnsafeMutablePointer<S>) {
        let bias = packed.inputBias.pointer
        let block = rowBlock
        let eights = eightRowBlocks && block == 4
        withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<V>.self, capacity: samples.count * count) { target in
            var rows = 0
            for s in 0..<samples.count {
                let b = samples.lowerBound + s
                for c in 0..<count {
                    if let mask, !mask[b * steps + low + c] { continue }
                    (gathered + rows * features).update(from: input.base + (s * input.stride + low + c - input.first) * features,
                                                        count: features)
                    target[rows] = projectionRow(s * count + c, samples, count)
                    rows += 1
                }
            }
            let a = UnsafePointer(gathered)
            for p in panels {
                let panel = packed.kernelPanel(p)
                var row = 0
                while row < rows {
                    let x = a + row * features
                    if eights && row + 8 <= rows {
                        let (c0, c1, c2, c3, c4, c5, c6, c7) = multiply8x3(features, x, stride: features, panel)
                        storeProjection(c0, target[row], p, bias); storeProjection(c1, target[row + 1], p, bias)
                        storeProjection(c2, target[row + 2], p, bias); storeProjection(c3, target[row + 3], p, bias)
                        storeProjection(c4, target[row + 4], p, bias); storeProjection(c5, target[row + 5], p, bias)
                        storeProjection(c6, target[row + 6], p, bias); storeProjection(c7, target[row + 7], p, bias)
                        row += 8
                    } else if block == 4 && row + 4 <= rows {
                        let (c0, c1, c2, c3) = multiply4x3(features, x, x + features, x + 2 * features, x + 3 * features, panel)
                        storeProjection(c0, target[row], p, bias); storeProjection(c1, target[row + 1], p, bias)
                        storeProjection(c2, target[row + 2], p, bias); storeProjection(c3, target[row + 3], p, bias)
                        row += 4
                    } else if block == 3 && row + 3 <= rows {
                        let (c0, c1, c2) = multiply3x3(features, x, x + features, x + 2 * features, panel)
                        storeProjection(c0, target[row], p, bias); storeProjection(c1, target[row + 1], p, bias)
                        storeProjection(c2, target[row + 2], p, bias)
                        row += 3
                    } else {
                        storeProjection(multiply1x3(features, x, panel), target[row], p, bias)
                        row += 1
                    }
                }
            }
        }
    }

    /// Row `i` of a chunk's projection enumerates (sample, step) with the step varying fastest.
    @inline(__always)
    func projectionRow(_ i: Int, _ samples: Range<Int>, _ count: Int) -> UnsafeMutablePointer<V> {
        projection.pointer + ((samples.lowerBound + i / count) * plan.chunk + i % count) * 3 * padded / lanes
    }

    @inline(__always)
    func storeProjection(_ c: SIMD3Block<V>, _ row: UnsafeMutablePointer<V>, _ p: Int, _ bias: UnsafeMutablePointer<V>) {
        let stride = padded / lanes
        row[p] = c.z + bias[p]
        row[stride + p] = c.r + bias[stride + p]
        row[2 * stride + p] = c.h + bias[2 * stride + p]
    }

    @inline(__always)
    func storeBlock(_ c: SIMD3Block<V>, _ share: Share, row: Int, panel p: Int, gates: Int = 3) {
        let out = UnsafeMutableRawPointer(share.scratch).assumingMemoryBound(to: V.self)
        let stride = padded / lanes
        out[(row * 3) * stride + p] = c.z
        out[(row * 3 + 1) * stride + p] = c.r
        if gates == 3 { out[(row * 3 + 2) * stride + p] = c.h }
    }

    @inline(__always)
    func storeGateH(_ c: V, _ share: Share, row: Int, panel p: Int) {
        let out = UnsafeMutableRawPointer(share.scratch).assumingMemoryBound(to: V.self)
        out[(row * 3 + 2) * (padded / lanes) + p] = c
    }

    /// The rows a product reads: with the units split, this thread's copy of them, made in one sweep so the
    /// cache misses on the part another core wrote overlap instead of stalling the kernel one line at a time.
    @inline(__always)
    func copyRows(_ share: Share, _ shared: UnsafeMutablePointer<S>) -> UnsafeMutablePointer<S> {
        guard let local = share.rows else { return shared }
        let from = UnsafeRawPointer(shared).assumingMemoryBound(to: V.self)
        let to = UnsafeMutableRawPointer(local).assumingMemoryBound(to: V.self)
        for v in 0..<(batch * padded / lanes) { to[v] = from[v] }
        return local
    }

    /// The recurrent product of `a`'s rows (h, or r*h) with this thread's panels, into the scratch block.
    /// `gates` 3: all of [z | r | h]; 2: z and r; 1: h alone.
    func recurrentProduct(_ share: Share, rows shared: UnsafeMutablePointer<S>, gates: Int) {
        let a = copyRows(share, shared)
        let lower = share.samples.lowerBound
        let block = gates == 3 ? rowBlock : 4
        // Eight rows a block where there are 32 vector registers (each panel vector loaded feeds eight
        // multiply-adds), then blocks of four (three).
        let eightsEnd = eightRowBlocks && gates == 3 && block == 4 ? lower + share.samples.count / 8 * 8 : lower
        let blocksEnd = eightsEnd + (share.samples.upperBound - eightsEnd) / block * block
        // Rows short of a whole block are computed with each panel while it is in L1, when whole blocks stream
        // the panels anyway (float64 (32,200,64)->128 and (256,100,128)->256: 2% less time).
        let leftoversInPanel = gates == 3 && blocksEnd > lower && blocksEnd < share.samples.upperBound
        for p in share.panels {
            let panel = gates == 3 ? packed.recurrentPanel(p) : gates == 2 ? packed.zrPanel(p) : packed.hPanel(p)
            for b in Swift.stride(from: lower, to: eightsEnd, by: 8) {
                let (c0, c1, c2, c3, c4, c5, c6, c7) = multiply8x3(units, a + b * padded, stride: padded, panel)
                let i = b - lower
                storeBlock(c0, share, row: i, panel: p); storeBlock(c1, share, row: i + 1, panel: p)
                storeBlock(c2, share, row: i + 2, panel: p); storeBlock(c3, share, row: i + 3, panel: p)
                storeBlock(c4, share, row: i + 4, panel: p); storeBlock(c5, share, row: i + 5, panel: p)
                storeBlock(c6, share, row: i + 6, panel: p); storeBlock(c7, share, row: i + 7, panel: p)
            }
            for b in Swift.stride(from: eightsEnd, to: blocksEnd, by: block) {
                let a0 = a + b * padded, a1 = a0 + padded, a2 = a1 + padded, a3 = a2 + padded
                let i = b - lower
                switch gates {
                case 3 where block == 3:
                    let (c0, c1, c2) = multiply3x3(units, a0, a1, a2, panel)
                    storeBlock(c0, share, row: i, panel: p); storeBlock(c1, share, row: i + 1, panel: p)
                    storeBlock(c2, share, row: i + 2, panel: p)
                case 3:
                    let (c0, c1, c2, c3) = multiply4x3(units, a0, a1, a2, a3, panel)
                    storeBlock(c0, share, row: i, panel: p); storeBlock(c1, share, row: i + 1, panel: p)
                    storeBlock(c2, share, row: i + 2, panel: p); storeBlock(c3, share, row: i + 3, panel: p)
                case 2:
                    let (c0, c1, c2, c3) = multiply4x2(units, a0, a1, a2, a3, panel)
                    storeBlock(c0, share, row: i, panel: p, gates: 2); storeBlock(c1, share, row: i + 1, panel: p, gates: 2)
                    storeBlock(c2, share, row: i + 2, panel: p, gates: 2); storeBlock(c3, share, row: i + 3, panel: p, gates: 2)
                default:
                    let (c0, c1, c2, c3) = multiply4x1(units, a0, a1, a2, a3, panel)
                    storeGateH(c0, share, row: i, panel: p); storeGateH(c1, share, row: i + 1, panel: p)
                    storeGateH(c2, share, row: i + 2, panel: p); storeGateH(c3, share, row: i + 3, panel: p)
                }
            }
            if leftoversInPanel {
                var b = blocksEnd
                while b < share.samples.upperBound {
                    let a0 = a + b * padded, i = b - lower
                    if b + 2 <= share.samples.upperBound {
                        let (c0, c1) = multiply2x3(units, a0, a0 + padded, panel)
                        storeBlock(c0, share, row: i, panel: p); storeBlock(c1, share, row: i + 1, panel: p)
                        b += 2
                    } else {
                        storeBlock(multiply1x3(units, a0, panel), share, row: i, panel: p)
                        b += 1
                    }
                }
            }
        }
        if leftoversInPanel { return }
        for b in blocksEnd..<share.samples.upperBound {
            let row = a + b * padded, i = b - lower
            switch gates {
            case 1:
                byFourPanels(share.panels, { multiply1x4(units, row, (packed.hPanel($0), packed.hPanel($1), packed.hPanel($2), packed.hPanel($3))) }) {
                    storeGateH($0, share, row: i, panel: $1)
                }
            case 2:
                byFourPanels(share.panels, { multiply1x8(units, row, (packed.zrPanel($0), packed.zrPanel($1), packed.zrPanel($2), packed.zrPanel($3))) }) {
                    storeBlock($0, share, row: i, panel: $1, gates: 2)
                }
            default:
                eachThreeGateBlock(row, share.panels) { storeBlock($0, share, row: i, panel: $1) }
            }
        }
    }

    /// One row's product with the three gates of each of `panels`, handed to `use` panel by panel: four
    /// panels a pass through k when there are at most eight (a small layer), else three, then two or one.
    @inline(__always)
    func eachThreeGateBlock(_ row: UnsafePointer<S>, _ panels: Range<Int>, _ use: (SIMD3Block<V>, Int) -> Void) {
        var p = panels.lowerBound
        let end = panels.upperBound
        while p < end {
            if p + 4 <= end && panels.count <= 8 {
                let (c0, c1, c2, c3) = multiply1x12(units, row, packed.recurrentPanel(p), packed.recurrentPanel(p + 1),
                                                    packed.recurrentPanel(p + 2), packed.recurrentPanel(p + 3))
                use(c0, p); use(c1, p + 1); use(c2, p + 2); use(c3, p + 3)
                p += 4
            } else if p + 3 <= end {
                let (c0, c1, c2) = multiply1x9(units, row, packed.recurrentPanel(p), packed.recurrentPanel(p + 1), packed.recurrentPanel(p + 2))
                use(c0, p); use(c1, p + 1); use(c2, p + 2)
                p += 3
            } else if p + 2 <= end {
                let (c0, c1) = multiply1x6(units, row, packed.recurrentPanel(p), packed.recurrentPanel(p + 1))
                use(c0, p); use(c1, p + 1)
                p += 2
            } else {
                use(multiply1x3(units, row, packed.recurrentPanel(p)), p)
                p += 1
            }
        }
    }
}

/// Walks `panels` four at a time: `kernel` gets four panel indices (the last one repeated past the end),
/// and `use` each result whose panel is in the range.
@inline(__always)
func byFourPanels<R>(_ panels: Range<Int>, _ kernel: (Int, Int, Int, Int) -> (R, R, R, R), _ use: (R, Int) -> Void) {
    let end = panels.upperBound, last = end - 1
    var p = panels.lowerBound
    while p < end {
        let (c0, c1, c2, c3) = kernel(p, min(p + 1, last), min(p + 2, last), min(p + 3, last))
        use(c0, p)
        if p + 1 < end { use(c1, p + 1) }
        if p + 2 < end { use(c2, p + 2) }
        if p + 3 < end { use(c3, p + 3) }
        p += 4
    }
}
