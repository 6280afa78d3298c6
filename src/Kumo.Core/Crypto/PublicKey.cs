using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Security.Cryptography;

namespace Kumo.Crypto;

/// <summary>
/// An ECDSA P-256 public key in SEC 1 compressed form (33 bytes), as carried in signed envelopes (base64url).
/// Verification uses the platform's ECDSA; the decompressed key is built once per instance.
/// </summary>
public sealed class PublicKey : IEquatable<PublicKey>
{
    public const int CompressedLength = 33;
    public const int SignatureLength = 64;

    // P-256 domain parameters (SEC 2 / FIPS 186-4).
    private static readonly BigInteger P = BigInteger.Parse("0ffffffff00000001000000000000000000000000ffffffffffffffffffffffff", System.Globalization.NumberStyles.HexNumber);
    private static readonly BigInteger B = BigInteger.Parse("05ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b", System.Globalization.NumberStyles.HexNumber);

    private readonly byte[] _compressed;
    private readonly byte[] _x;
    private readonly byte[] _y;
    private ECDsa? _ecdsa;

    private PublicKey(byte[] compressed, byte[] x, byte[] y)
    {
        _compressed = compressed;
        _x = x;
        _y = y;
        Text = Base64Url.EncodeToString(compressed);
    }

    /// <summary>The 33-byte compressed point.</summary>
    public ReadOnlySpan<byte> Compressed => _compressed;

    /// <summary>base64url of the compressed point.</summary>
    public string Text { get; }

    /// <summary>The account this key controls.</summary>
    public AccountId AccountId => AccountId.FromPublicKey(this);

    /// <summary>Builds a key from the affine coordinates of a point (32 bytes each).</summary>
    public static PublicKey FromPoint(ReadOnlySpan<byte> x, ReadOnlySpan<byte> y)
    {
        var compressed = new byte[CompressedLength];
        compressed[0] = (byte)((y[^1] & 1) == 0 ? 0x02 : 0x03);
        x.CopyTo(compressed.AsSpan(1));
        return new PublicKey(compressed, x.ToArray(), y.ToArray());
    }

    /// <summary>Parses base64url text of a compressed point, checking the point lies on the curve.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out PublicKey? key, out string error)
    {
        key = null;
        if (string.IsNullOrEmpty(text))
        {
            error = "public key is empty";
            return false;
        }

        Span<byte> bytes = stackalloc byte[CompressedLength + 1];
        if (!Base64Url.IsValid(text, out int decodedLength) || decodedLength != CompressedLength)
        {
            error = $"public key must be base64url of {CompressedLength} bytes (a compressed P-256 point)";
            return false;
        }

        Base64Url.DecodeFromChars(text, bytes, out _, out int written);
        return TryFromCompressed(bytes[..written], out key, out error);
    }

    public static bool TryFromCompressed(ReadOnlySpan<byte> bytes, [NotNullWhen(true)] out PublicKey? key, out string error)
    {
        key = null;
        if (bytes.Length != CompressedLength || (bytes[0] != 0x02 && bytes[0] != 0x03))
        {
            error = "public key is not a compressed P-256 point (33 bytes starting 0x02 or 0x03)";
            return false;
        }

        var x = new BigInteger(bytes[1..], isUnsigned: true, isBigEndian: true);
        if (x >= P)
        {
            error = "public key x coordinate is outside the field";
            return false;
        }

        // y² = x³ − 3x + b (mod p); p ≡ 3 (mod 4) so a square root is rhs^((p+1)/4).
        BigInteger rhs = Mod((BigInteger.ModPow(x, 3, P) - (3 * x)) + B);
        BigInteger y = BigInteger.ModPow(rhs, (P + 1) / 4, P);
        if (BigInteger.ModPow(y, 2, P) != rhs)
        {
            error = "public key is not a point on the P-256 curve";
            return false;
        }

        bool wantOdd = bytes[0] == 0x03;
        if (!y.IsEven != wantOdd)
        {
            y = P - y;
        }

        key = new PublicKey(bytes.ToArray(), bytes[1..].ToArray(), ToFixed32(y));
        error = "";
        return true;
    }

    /// <summary>Checks an IEEE P1363 (r‖s) ECDSA-SHA256 signature over <paramref name="data"/>.</summary>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != SignatureLength)
        {
            return false;
        }

        ECDsa ecdsa = _ecdsa ??= CreateVerifier();
        return ecdsa.VerifyData(data, signature, HashAlgorithmName.SHA256);
    }

    internal ECParameters ToParameters() => new()
    {
        Curve = ECCurve.NamedCurves.nistP256,
        Q = new ECPoint { X = _x, Y = _y },
    };

    private ECDsa CreateVerifier()
    {
        var ecdsa = ECDsa.Create(ToParameters());
        return Interlocked.CompareExchange(ref _ecdsa, ecdsa, null) ?? ecdsa;
    }

    public bool Equals(PublicKey? other) => other is not null && _compressed.AsSpan().SequenceEqual(other._compressed);

    public override bool Equals(object? obj) => Equals(obj as PublicKey);

    public override int GetHashCode() => BitConverter.ToInt32(_compressed, 1);

    public override string ToString() => Text;

    private static BigInteger Mod(BigInteger value)
    {
        BigInteger r = value % P;
        return r.Sign < 0 ? r + P : r;
    }

    private static byte[] ToFixed32(BigInteger value)
    {
        byte[] raw = value.ToByteArray(isUnsigned: true, isBigEndian: true);
        if (raw.Length == 32)
        {
            return raw;
        }

        var result = new byte[32];
        raw.CopyTo(result, 32 - raw.Length);
        return result;
    }
}
