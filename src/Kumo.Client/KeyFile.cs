using System.Text.Json;
using Kumo.Crypto;

namespace Kumo.Client;

/// <summary>
/// An account key on disk: JSON with the account id, public key and PKCS#8 private key, written with mode 0600
/// (owner read/write only) from the first byte. A key file readable by group or others is refused, as ssh does.
/// </summary>
public static class KeyFile
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private sealed record Document(int Version, string Kind, string Curve, string AccountId, string PublicKey, string PrivateKeyPkcs8);

    /// <summary>Writes a new key file. Refuses to overwrite an existing one.</summary>
    public static void Save(string path, AccountKey key)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        var document = new Document(1, "kumo-account-key", "P-256", key.AccountId.Value, key.PublicKey.Text, Convert.ToBase64String(key.ExportPkcs8()));
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(document, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true });
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }

        using var file = new FileStream(path, options);
        file.Write(bytes);
        file.Flush(flushToDisk: true);
    }

    /// <summary>Loads a key file, checking its permissions and that the stored id matches the key.</summary>
    public static AccountKey Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new KeyFileException($"no key file at {path}; create one with `kumo key new`");
        }

        if (!OperatingSystem.IsWindows())
        {
            UnixFileMode mode = File.GetUnixFileMode(path);
            if ((mode & ~(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute)) != 0)
            {
                throw new KeyFileException($"key file {path} is accessible by others (mode {Convert.ToString((int)mode, 8)}); run `chmod 600 {path}`");
            }
        }

        Document document;
        try
        {
            document = JsonSerializer.Deserialize<Document>(File.ReadAllBytes(path), new JsonSerializerOptions(JsonSerializerDefaults.Web))
                ?? throw new KeyFileException($"key file {path} is empty");
        }
        catch (JsonException e)
        {
            throw new KeyFileException($"key file {path} is not a Kumo key file: {e.Message}", e);
        }

        if (document.Kind != "kumo-account-key" || document.Curve != "P-256")
        {
            throw new KeyFileException($"key file {path} holds a '{document.Kind}' on curve {document.Curve}, not a Kumo P-256 account key");
        }

        AccountKey key;
        try
        {
            key = AccountKey.FromPkcs8(Convert.FromBase64String(document.PrivateKeyPkcs8));
        }
        catch (Exception e) when (e is FormatException or System.Security.Cryptography.CryptographicException)
        {
            throw new KeyFileException($"key file {path} has an unreadable private key: {e.Message}", e);
        }

        if (key.AccountId.Value != document.AccountId)
        {
            key.Dispose();
            throw new KeyFileException($"key file {path} says it is {document.AccountId} but its key is {key.AccountId}; the file was edited");
        }

        return key;
    }

    /// <summary>Loads the key at <paramref name="path"/>, creating it first if there is none.</summary>
    public static AccountKey LoadOrCreate(string path, out bool created)
    {
        created = false;
        if (File.Exists(path))
        {
            return Load(path);
        }

        AccountKey key = AccountKey.Create();
        Save(path, key);
        created = true;
        return key;
    }
}

public sealed class KeyFileException : Exception
{
    public KeyFileException(string message) : base(message) { }

    public KeyFileException(string message, Exception inner) : base(message, inner) { }

    public KeyFileException() { }
}
