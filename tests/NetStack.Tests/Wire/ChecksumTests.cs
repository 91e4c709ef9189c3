using System.Buffers.Binary;
using CsCheck;
using NetStack.Wire;

namespace NetStack.Tests.Wire;

/// <summary>RFC 1071 Internet checksum and RFC 1624 incremental update.</summary>
public class ChecksumTests
{
    /// <summary>Word-by-word RFC 1071 §4.1 reference, folding after every addition.</summary>
    private static ushort NaiveFold(ReadOnlySpan<byte> data, ulong initial = 0)
    {
        ulong sum = initial;
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        for (int i = 0; i < data.Length; i += 2)
        {
            uint word = (uint)(data[i] << 8) | (i + 1 < data.Length ? data[i + 1] : 0u);
            sum += word;
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)sum;
    }

    [Fact]
    public void Vectorized_sum_equals_the_naive_sum_for_every_length_and_alignment()
    {
        var random = new Random(1071);
        var buffer = new byte[2048 + 64];
        random.NextBytes(buffer);
        for (int offset = 0; offset < 64; offset++)
        {
            for (int length = 0; length + offset <= buffer.Length && length <= 2048; length++)
            {
                var data = buffer.AsSpan(offset, length);
                Assert.True(NaiveFold(data) == Checksum.Fold(Checksum.Accumulate(data)), $"offset {offset} length {length}");
            }
        }
    }

    [Fact]
    public void All_ones_data_folds_to_ones_complement_zero_not_zero()
    {
        // Maximum lane pressure: every word 0xFFFF, long enough to cross a flush of the vector lanes.
        var data = new byte[1 << 21];
        data.AsSpan().Fill(0xFF);
        Assert.Equal(NaiveFold(data), Checksum.Fold(Checksum.Accumulate(data)));
        Assert.Equal(0xFFFF, Checksum.Fold(Checksum.Accumulate(data)));
    }

    [Fact]
    public void All_zero_data_folds_to_zero()
    {
        Assert.Equal(0, Checksum.Fold(Checksum.Accumulate(new byte[4096])));
    }

    [Fact]
    public void Random_buffers_with_random_initial_sums_agree_with_the_naive_sum()
    {
        Gen.Select(Gen.Byte.Array[0, 10000], Gen.ULong[0, 1UL << 40]).Sample((data, initial) =>
            Assert.Equal(NaiveFold(data, initial), Checksum.Fold(Checksum.Accumulate(data, initial))));
    }

    [Fact]
    public void Rfc1071_example_sums_to_ddf2()
    {
        // RFC 1071 §3 numerical example: 00 01 f2 03 f4 f5 f6 f7 -> sum ddf2.
        Assert.Equal(0xDDF2, Checksum.Fold(Checksum.Accumulate(new byte[] { 0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7 })));
    }

    [Fact]
    public void Data_with_its_computed_checksum_verifies()
    {
        Gen.Byte.Array[2, 3000].Where(a => a.Length % 2 == 0).Sample(data =>
        {
            data[0] = 0; data[1] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(data, Checksum.Compute(data));
            Assert.True(Checksum.Verify(data));
        });
    }

    [Fact]
    public void Ipv4_pseudo_header_equals_the_sum_of_its_bytes()
    {
        // RFC 768: source, destination, zero, protocol, UDP length.
        Gen.Select(Gen.UInt, Gen.UInt, Gen.Byte, Gen.Int[0, 65535]).Sample((s, d, proto, len) =>
        {
            var bytes = new byte[12];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, s);
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4), d);
            bytes[9] = proto;
            BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(10), (ushort)len);
            Assert.Equal(NaiveFold(bytes), Checksum.Fold(Checksum.PseudoHeaderV4(new Ipv4Address(s), new Ipv4Address(d), proto, len)));
        });
    }

    [Fact]
    public void Ipv6_pseudo_header_equals_the_sum_of_its_bytes()
    {
        // RFC 8200 §8.1: source, destination, 32-bit upper-layer length, 3 zero bytes, next header.
        Gen.Select(Gen.Byte.Array[32], Gen.Byte, Gen.Int[0, int.MaxValue]).Sample((addrs, nh, len) =>
        {
            var bytes = new byte[40];
            addrs.CopyTo(bytes, 0);
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(32), (uint)len);
            bytes[39] = nh;
            var src = Ipv6Address.Read(addrs);
            var dst = Ipv6Address.Read(addrs.AsSpan(16));
            Assert.Equal(NaiveFold(bytes), Checksum.Fold(Checksum.PseudoHeaderV6(src, dst, nh, len)));
            Assert.Equal(NaiveFold(bytes), Checksum.Fold(Checksum.PseudoHeader(src, dst, nh, len)));
        });
    }

    [Fact]
    public void Rfc1624_update_of_a_ttl_decrement_equals_recomputation()
    {
        Gen.Select(Gen.Byte.Array[20], Gen.Byte[1, 255]).Sample((header, ttl) =>
        {
            header[0] = 0x45;
            header[8] = ttl;
            header[10] = 0; header[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), Checksum.Compute(header));
            ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(8));
            header[8]--; // RFC 791 / RFC 1812 §5.3.1: forwarding decrements TTL
            ushort newWord = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(8));
            ushort updated = Checksum.Update(BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(10)), oldWord, newWord);
            header[10] = 0; header[11] = 0;
            ushort recomputed = Checksum.Compute(header);
            // RFC 1624 §3: both are valid; they may differ only as +0 / -0 (0x0000 vs 0xFFFF) in ones' complement.
            Assert.True(updated == recomputed || (updated ^ recomputed) == 0xFFFF && (updated == 0 || recomputed == 0),
                $"updated {updated:x4} recomputed {recomputed:x4}");
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), updated);
            Assert.True(Checksum.Verify(header));
        });
    }
}
