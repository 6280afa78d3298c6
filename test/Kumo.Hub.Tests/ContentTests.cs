using System.Net;
using System.Net.Sockets;
using System.Text;
using Kumo.Client;
using Kumo.Content;
using Kumo.Hub.Tests.Support;
using Kumo.Protocol;
using Kumo.Signing;

namespace Kumo.Hub.Tests;

public class ContentTests
{
    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static async Task<string> WriteTempAsync(byte[] bytes)
    {
        string path = Path.Combine(Path.GetTempPath(), "kumo-content-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(path, bytes);
        return path;
    }

    private static UploadRequest Announce(ContentManifest manifest) =>
        new(manifest.Root.ToString(), manifest.Size, [.. manifest.Leaves.Select(l => new UploadLeaf(l.Cid.ToString(), l.Size))]);

    private static async Task<UploadView> CreateUploadAsync(HubFixture hub, RequestSigner signer, ContentManifest manifest)
    {
        using var http = new HttpClient { BaseAddress = new Uri(hub.Url) };
        using HttpResponseMessage response = await http.PostAsync("v1/content/uploads",
            new StringContent(signer.Sign(MessageTypes.UploadCreate, Announce(manifest)).ToJson(), Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        return (await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<UploadView>(response.Content, Kumo.Serialization.KumoJson.Options))!;
    }

    private static async Task<HttpResponseMessage> PutChunkAsync(HubFixture hub, string uploadId, int index, byte[] body)
    {
        using var http = new HttpClient { BaseAddress = new Uri(hub.Url) };
        return await http.PutAsync($"v1/content/uploads/{uploadId}/chunks/{index}", new ByteArrayContent(body));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(262_144)]
    [InlineData(700_001)]
    public async Task A_file_uploads_and_downloads_to_the_same_bytes_and_cid(int length)
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        byte[] bytes = Bytes(length, length);
        string path = await WriteTempAsync(bytes);
        string target = path + ".down";
        try
        {
            ContentManifest manifest = await hub.Client.UploadFileAsync(HubFixture.NewSigner(), path);
            Assert.Equal(UnixFsImporter.Import(bytes).Root, manifest.Root);
            long size = await hub.Client.DownloadAsync(manifest.Root.ToString(), target);
            Assert.Equal(length, size);
            Assert.Equal(bytes, await File.ReadAllBytesAsync(target));
        }
        finally
        {
            File.Delete(path);
            File.Delete(target);
        }
    }

    [Fact]
    public async Task A_chunk_whose_bytes_do_not_match_its_cid_is_refused_and_not_kept()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        byte[] bytes = Bytes(600_000, 1);
        ContentManifest manifest = UnixFsImporter.Import(bytes);
        UploadView upload = await CreateUploadAsync(hub, HubFixture.NewSigner(), manifest);

        byte[] wrong = bytes[..ContentManifest.ChunkSize];
        wrong[1000] ^= 0xff;
        using HttpResponseMessage response = await PutChunkAsync(hub, upload.UploadId, 0, wrong);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        string problem = await response.Content.ReadAsStringAsync();
        Assert.Contains("cid_mismatch", problem, StringComparison.Ordinal);
        UploadView after = await GetUploadAsync(hub, upload.UploadId);
        Assert.Contains(0, after.MissingChunks);
    }

    [Fact]
    public async Task A_truncated_chunk_is_refused_with_its_sizes()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        byte[] bytes = Bytes(600_000, 2);
        ContentManifest manifest = UnixFsImporter.Import(bytes);
        UploadView upload = await CreateUploadAsync(hub, HubFixture.NewSigner(), manifest);

        using HttpResponseMessage response = await PutChunkAsync(hub, upload.UploadId, 1, bytes[ContentManifest.ChunkSize..(ContentManifest.ChunkSize + 1000)]);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        string problem = await response.Content.ReadAsStringAsync();
        Assert.Contains("chunk_size_mismatch", problem, StringComparison.Ordinal);
        Assert.Contains("1000 bytes", problem, StringComparison.Ordinal);
        Assert.Contains("cut off", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upload_cut_off_mid_chunk_stores_nothing_and_resumes_later()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        byte[] bytes = Bytes(3 * ContentManifest.ChunkSize + 17, 3);
        ContentManifest manifest = UnixFsImporter.Import(bytes);
        RequestSigner signer = HubFixture.NewSigner();
        UploadView upload = await CreateUploadAsync(hub, signer, manifest);
        (await PutChunkAsync(hub, upload.UploadId, 0, bytes[..ContentManifest.ChunkSize])).EnsureSuccessStatusCode();

        // Chunk 1 announced with its full length, but the connection dies after 10,000 bytes.
        var uri = new Uri(hub.Url);
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(uri.Host, uri.Port);
            NetworkStream stream = tcp.GetStream();
            string head = $"PUT /v1/content/uploads/{upload.UploadId}/chunks/1 HTTP/1.1\r\nHost: {uri.Authority}\r\nContent-Length: {ContentManifest.ChunkSize}\r\nContent-Type: application/octet-stream\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            await stream.WriteAsync(bytes.AsMemory(ContentManifest.ChunkSize, 10_000));
            await stream.FlushAsync();
            tcp.Client.LingerState = new LingerOption(true, 0);
        }

        UploadView after = await Eventually.UntilAsync(() => GetUploadAsync(hub, upload.UploadId), v => v.MissingChunks.Count == 3, "the cut-off chunk to be dropped");
        Assert.Equal([1, 2, 3], after.MissingChunks);
        var notYet = await Assert.ThrowsAsync<HubApiException>(() => hub.Client.DownloadAsync(manifest.Root.ToString(), Path.GetTempFileName()));
        Assert.Equal("content_incomplete", notYet.Code);
        Assert.Contains("1 of 4 chunks", notYet.Message, StringComparison.Ordinal);

        // The same file uploaded again resumes: only the missing chunks are sent.
        string path = await WriteTempAsync(bytes);
        var sent = new List<long>();
        try
        {
            await hub.Client.UploadFileAsync(signer, path, new Progress<long>(sent.Add));
            string target = path + ".down";
            await hub.Client.DownloadAsync(manifest.Root.ToString(), target);
            Assert.Equal(bytes, await File.ReadAllBytesAsync(target));
            File.Delete(target);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task An_announcement_whose_leaves_do_not_make_the_root_is_refused_before_any_byte()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        ContentManifest real = UnixFsImporter.Import(Bytes(600_000, 4));
        ContentManifest other = UnixFsImporter.Import(Bytes(600_000, 5));
        var lying = new UploadRequest(real.Root.ToString(), real.Size, [.. other.Leaves.Select(l => new UploadLeaf(l.Cid.ToString(), l.Size))]);
        using var http = new HttpClient { BaseAddress = new Uri(hub.Url) };
        using HttpResponseMessage response = await http.PostAsync("v1/content/uploads",
            new StringContent(HubFixture.NewSigner().Sign(MessageTypes.UploadCreate, lying).ToJson(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("manifest_mismatch", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_and_malformed_cids_get_clear_errors()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        string unknown = UnixFsImporter.Import(Bytes(10, 6)).Root.ToString();
        var missing = await Assert.ThrowsAsync<HubApiException>(() => hub.Client.DownloadAsync(unknown, Path.GetTempFileName()));
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.Equal("unknown_cid", missing.Code);

        using var http = new HttpClient { BaseAddress = new Uri(hub.Url) };
        using HttpResponseMessage response = await http.GetAsync("v1/content/Qmnotacidv1");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("invalid_cid", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_range_request_resumes_a_download()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        byte[] bytes = Bytes(500_000, 7);
        string path = await WriteTempAsync(bytes);
        try
        {
            ContentManifest manifest = await hub.Client.UploadFileAsync(HubFixture.NewSigner(), path);
            string target = path + ".down";
            await File.WriteAllBytesAsync(target + ".part", bytes[..123_456]); // an earlier, interrupted download
            await hub.Client.DownloadAsync(manifest.Root.ToString(), target);
            Assert.Equal(bytes, await File.ReadAllBytesAsync(target));
            File.Delete(target);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_corrupt_partial_download_is_detected_and_nothing_is_kept()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        byte[] bytes = Bytes(300_000, 8);
        string path = await WriteTempAsync(bytes);
        try
        {
            ContentManifest manifest = await hub.Client.UploadFileAsync(HubFixture.NewSigner(), path);
            string target = path + ".down";
            byte[] corrupt = bytes[..100_000];
            corrupt[5] ^= 1;
            await File.WriteAllBytesAsync(target + ".part", corrupt);
            await Assert.ThrowsAsync<InvalidDataException>(() => hub.Client.DownloadAsync(manifest.Root.ToString(), target));
            Assert.False(File.Exists(target));
            Assert.False(File.Exists(target + ".part"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<UploadView> GetUploadAsync(HubFixture hub, string id)
    {
        using var http = new HttpClient { BaseAddress = new Uri(hub.Url) };
        return (await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<UploadView>(http, $"v1/content/uploads/{id}", Kumo.Serialization.KumoJson.Options))!;
    }
}
