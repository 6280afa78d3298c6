using System.Security.Cryptography;

namespace Kumo.Crypto;

/// <summary>
/// An account's private key (ECDSA P-256). Signs envelopes; never serialized except through
/// <see cref="ExportPkcs8"/>, which the key file writer stores with mode 0600.
/// </summary>
public sealed class AccountKey : IDisposable
{
    private readonly ECDsa _ecdsa;

    private AccountKey(ECDsa ecdsa)
    {
        _ecdsa = ecdsa;
        ECParameters parameters = ecdsa.ExportParameters(includePrivateParameters: false);
        PublicKey = PublicKey.FromPoint(parameters.Q.X!, parameters.Q.Y!);
        AccountId = PublicKey.AccountId;
    }

    public PublicKey PublicKey { get; }

    public AccountId AccountId { get; }

    /// <summary>A fresh key from the operating system's random source.</summary>
    public static AccountKey Create() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>Loads a PKCS#8 private key; refuses keys on other curves.</summary>
    public static AccountKey FromPkcs8(ReadOnlySpan<byte> pkcs8)
    {
        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportPkcs8PrivateKey(pkcs8, out _);
            ECParameters p = ecdsa.ExportParameters(false);
            if (p.Curve.Oid?.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            {
                throw new CryptographicException($"key is on curve {p.Curve.Oid?.FriendlyName ?? p.Curve.Oid?.Value ?? "unknown"}, expected P-256");
            }

            return new AccountKey(ecdsa);
        }
        catch
        {
            ecdsa.Dispose();
            throw;
        }
    }

    public byte[] ExportPkcs8() => _ecdsa.ExportPkcs8PrivateKey();

    /// <summary>ECDSA-SHA256 over <paramref name="data"/>, IEEE P1363 form (64 bytes r‖s).</summary>
    public byte[] Sign(ReadOnlySpan<byte> data) =>
        _ecdsa.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    public void Dispose() => _ecdsa.Dispose();
}
