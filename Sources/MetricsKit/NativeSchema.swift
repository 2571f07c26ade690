#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Bucket keys and bounds of the native schemas, as client_golang computes them.
enum NativeSchema {
    /// For schemas 1...8, the `2^schema` fractions `2^(i/2^schema)/2` in [0.5, 1), schema by
    /// schema end to end (schema s starts at `2^s - 2`).
    nonisolated(unsafe) static let bounds: UnsafeMutablePointer<Double> = {  // written once, then only read
        let bounds = UnsafeMutablePointer<Double>.allocate(capacity: 510)
        var i = 0
        for schema in 1...8 {
            let n = 1 << schema
            for k in 0..<n {
                bounds[i] = k == 0 ? 0.5 : exp2(Double(k) / Double(n)) / 2
                i += 1
            }
        }
        return bounds
    }()

    /// The key of the bucket holding `magnitude` (> 0): `frexp` gives `frac * 2^exp` with
    /// frac in [0.5, 1); for schema > 0 the key is the index of the first bound >= frac plus
    /// `(exp - 1) * 2^schema`; for schema <= 0 it is `exp` (one less when frac is 0.5), shifted.
    static func key(_ magnitude: Double, schema: Int32) -> Int32 {
        key(magnitude, schema: schema, bounds: bounds)
    }

    /// ``key(_:schema:)`` with the bounds table passed in (read once per histogram, not per call).
    @inline(__always)
    static func key(_ magnitude: Double, schema: Int32, bounds: UnsafeMutablePointer<Double>) -> Int32 {
        // frexp from the bits for normal numbers; subnormals take the slow way.
        let bits = magnitude.bitPattern
        let biased = Int32(truncatingIfNeeded: bits >> 52)
        let mantissa = bits & 0x000F_FFFF_FFFF_FFFF
        let exp: Int32
        let frac: Double
        if biased != 0 {
            exp = biased &- 1022
            frac = Double(bitPattern: mantissa | 0x3FE0_0000_0000_0000)
        } else {
            exp = Int32(truncatingIfNeeded: magnitude.exponent) &+ 1
            frac = magnitude.significand * 0.5
        }
        if schema > 0 {
            let n = Int(1) << schema
            let table = bounds + (n &- 2)
            // The number of bounds below frac, by a binary search without data-dependent
            // branches (observed values are random: a mispredicted branch per step would cost
            // more than the search).
            var position = 0
            var step = n >> 1
            while step > 0 {
                position &+= table[position &+ step &- 1] < frac ? step : 0
                step >>= 1
            }
            position &+= table[position] < frac ? 1 : 0
            return Int32(truncatingIfNeeded: position) &+ (exp &- 1) &* Int32(truncatingIfNeeded: n)
        }
        var key = exp
        if frac == 0.5 { key &-= 1 }
        let offset = (Int32(1) << -schema) &- 1
        return (key &+ offset) >> -schema
    }

    /// The upper bound of bucket `key`: `2^(key * 2^-schema)`.
    static func upperBound(_ key: Int32, schema: Int32) -> Double {
        exp2(Double(key) * exp2(Double(-schema)))
    }

    /// The key of the same range one schema lower (buckets twice as wide).
    @inline(__always)
    static func halved(_ key: Int32) -> Int32 {
        (key > 0 ? key &+ 1 : key) / 2
    }
}
