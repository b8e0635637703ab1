/// The matrix products of a forward pass: the input projection of a chunk of timesteps and the recurrent
/// product of one step, on the packed panels (Panels.swift).
extension FastEngine {
    /// Rows per block of the three-gate kernels: four for floats, three for doubles (`multiply3x3`).
    var rowBlock: Int { lanes == 4 ? 3 : 4 }

    /// x·W + b_in for the chunk's input times `low ..< low+count` of `samples`, onto `panels`.
    func project(samples: Range<Int>, panels: Range<Int>, low: Int, count: Int, rows input: InputRows) {
        let rows = samples.count * count
        let bias = packed.inputBias.pointer
        let block = rowBlock
        for p in panels {
            let panel = packed.kernelPanel(p)
            var row = 0
            while row < rows {
                if block == 4 && row + 4 <= rows {
                    let (c0, c1, c2, c3) = multiply4x3(features, inputRow(row, input, low, count), inputRow(row + 1, input, low, count),
                                                       inputRow(row + 2, input, low, count), inputRow(row + 3, input, low, count), panel)
                    storeProjection(c0, projectionRow(row, samples, count), p, bias)
                    storeProjection(c1, projectionRow(row + 1, samples, count), p, bias)
                    storeProjection(c2, projectionRow(row + 2, samples, count), p, bias)
                    storeProjection(c3, projectionRow(row + 3, samples, count), p, bias)
                    row += 4
                } else if block == 3 && row + 3 <= rows {
                    let (c0, c1, c2) = multiply3x3(features, inputRow(row, input, low, count), inputRow(row + 1, input, low, count),
                                                   inputRow(row + 2, input, low, count), panel)
                    storeProjection(c0, projectionRow(row, samples, count), p, bias)
                    storeProjection(c1, projectionRow(row + 1, samples, count), p, bias)
                    storeProjection(c2, projectionRow(row + 2, samples, count), p, bias)
                    row += 3
                } else {
                    let c = multiply1x3(features, inputRow(row, input, low, count), panel)
                    storeProjection(c, projectionRow(row, samples, count), p, bias)
                    row += 1
                }
            }
        }
    }

    /// Row `i` of a chunk's projection enumerates (sample, step) with the step varying fastest.
    @inline(__always)
    func inputRow(_ i: Int, _ rows: InputRows, _ low: Int, _ count: Int) -> UnsafePointer<S> {
        rows.base + ((i / count) * rows.stride + low - rows.first + i % count) * features
    }

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
        let blocksEnd = lower + share.samples.count / block * block
        // Rows short of a whole block are computed with each panel while it is in L1, when whole blocks stream
        // the panels anyway (float64 (32,200,64)->128 and (256,100,128)->256: 2% less time).
        let leftoversInPanel = gates == 3 && blocksEnd > lower && blocksEnd < share.samples.upperBound
        for p in share.panels {
            let panel = gates == 3 ? packed.recurrentPanel(p) : gates == 2 ? packed.zrPanel(p) : packed.hPanel(p)
            for b in Swift.stride(from: lower, to: blocksEnd, by: block) {
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
            var p = share.panels.lowerBound
            let end = share.panels.upperBound
            while p < end {
                let last = end - 1
                if gates == 1 {
                    let (c0, c1, c2, c3) = multiply1x4(units, row, (packed.hPanel(p), packed.hPanel(min(p + 1, last)),
                                                                    packed.hPanel(min(p + 2, last)), packed.hPanel(min(p + 3, last))))
                    storeGateH(c0, share, row: i, panel: p)
                    if p + 1 < end { storeGateH(c1, share, row: i, panel: p + 1) }
                    if p + 2 < end { storeGateH(c2, share, row: i, panel: p + 2) }
                    if p + 3 < end { storeGateH(c3, share, row: i, panel: p + 3) }
                    p += 4
                } else if gates == 2 {
                    let (c0, c1, c2, c3) = multiply1x8(units, row, (packed.zrPanel(p), packed.zrPanel(min(p + 1, last)),
                                                                    packed.zrPanel(min(p + 2, last)), packed.zrPanel(min(p + 3, last))))
                    storeBlock(c0, share, row: i, panel: p, gates: 2)
                    if p + 1 < end { storeBlock(c1, share, row: i, panel: p + 1, gates: 2) }
                    if p + 2 < end { storeBlock(c2, share, row: i, panel: p + 2, gates: 2) }
                    if p + 3 < end { storeBlock(c3, share, row: i, panel: p + 3, gates: 2) }
                    p += 4
                } else if p + 4 <= end && share.panels.count <= 8 {
                    let (c0, c1, c2, c3) = multiply1x12(units, row, packed.recurrentPanel(p), packed.recurrentPanel(p + 1),
                                                        packed.recurrentPanel(p + 2), packed.recurrentPanel(p + 3))
                    storeBlock(c0, share, row: i, panel: p, gates: gates); storeBlock(c1, share, row: i, panel: p + 1, gates: gates)
                    storeBlock(c2, share, row: i, panel: p + 2, gates: gates); storeBlock(c3, share, row: i, panel: p + 3, gates: gates)
                    p += 4
                } else if p + 3 <= end {
                    let (c0, c1, c2) = multiply1x9(units, row, packed.recurrentPanel(p), packed.recurrentPanel(p + 1), packed.recurrentPanel(p + 2))
                    storeBlock(c0, share, row: i, panel: p, gates: gates); storeBlock(c1, share, row: i, panel: p + 1, gates: gates)
                    storeBlock(c2, share, row: i, panel: p + 2, gates: gates)
                    p += 3
                } else {
                    storeBlock(multiply1x3(units, row, packed.recurrentPanel(p)), share, row: i, panel: p, gates: gates)
                    p += 1
                }
            }
        }
    }
}
