/// The series of one family: open addressing with linear probing and backward-shift deletion,
/// load factor at most 1/2. Slots hold unmanaged references (the table owns one retain per
/// series), so probing does no reference counting. Also caches the series sorted by label
/// values for scrapes, rebuilt only after a change. Always used under the family's lock.
struct SeriesTable: ~Copyable {
    private struct Slot {
        var hash: UInt64 = 0  // 0: empty
        var series: Unmanaged<MetricSeries>? = nil
    }

    private var slots = [Slot](repeating: Slot(), count: 8)
    private var sorted: [MetricSeries]? = []
    private(set) var count = 0

    deinit {
        for slot in slots { slot.series?.release() }
    }

    private var mask: Int { slots.count &- 1 }

    /// The slot of the series with this hash whose raw label values `matches` accepts.
    @inline(__always)
    private func slotIndex(hash: UInt64, _ matches: (inout SeriesKey.Cursor) -> Bool) -> Int? {
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[i]
            if slot.hash == 0 { return nil }
            if slot.hash == hash, let series = slot.series,
                series._withUnsafeGuaranteedRef({ SeriesKey.withValues($0.key, matches) })
            {
                return i
            }
            i = (i &+ 1) & mask
        }
    }

    /// The series with this hash whose raw label values `matches` accepts.
    @inline(__always)
    func find(hash: UInt64, _ matches: (inout SeriesKey.Cursor) -> Bool) -> MetricSeries? {
        slotIndex(hash: hash, matches).map { slots[$0].series!.takeUnretainedValue() }
    }

    mutating func insert(_ series: MetricSeries, hash: UInt64) {
        if (count + 1) * 2 > slots.count { grow() }
        place(Slot(hash: hash, series: .passRetained(series)))
        count += 1
        sorted = nil
    }

    private mutating func place(_ slot: Slot) {
        var i = Int(truncatingIfNeeded: slot.hash) & mask
        while slots[i].hash != 0 { i = (i &+ 1) & mask }
        slots[i] = slot
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(), count: old.count * 2)
        for slot in old where slot.hash != 0 { place(slot) }
    }

    mutating func remove(hash: UInt64, _ matches: (inout SeriesKey.Cursor) -> Bool) -> Bool {
        guard let i = slotIndex(hash: hash, matches) else { return false }
        slots[i].series!.release()
        // Backward shift: move later entries of the probe run into the hole.
        var hole = i
        var j = (i &+ 1) & mask
        while slots[j].hash != 0 {
            let home = Int(truncatingIfNeeded: slots[j].hash) & mask
            // Entry j may move to the hole unless its home lies cyclically in (hole, j].
            if (j &- home) & mask >= (j &- hole) & mask {
                slots[hole] = slots[j]
                hole = j
            }
            j = (j &+ 1) & mask
        }
        slots[hole] = Slot()
        count -= 1
        sorted = nil
        return true
    }

    /// The series ordered by label values, compared as UTF-8 bytes.
    mutating func sortedSeries() -> [MetricSeries] {
        if let sorted { return sorted }
        let result = slots.compactMap { $0.series?.takeUnretainedValue() }.sorted {
            SeriesKey.valuesPrecede($0.key, $1.key)
        }
        sorted = result
        return result
    }
}
