using Kumo.Hub.Api;
using Kumo.Hub.Auth;
using Kumo.Hub.Content;
using Kumo.Hub.Control;
using Kumo.Hub.Jobs;
using Kumo.Hub.Leases;
using Kumo.Hub.Ledger;
using Kumo.Hub.Providers;
using Kumo.Hub.Market;
using Kumo.Hub.Storage;
using Kumo.Hub.Storage.Sqlite;
using Kumo.Hub.Verification;
using Kumo.Protocol;
using Kumo.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub;

/// <summary>Builds and runs a hub: Kestrel, the API, the control channel, the store and the background loops.</summary>
public static class HubHost
{
    /// <summary>Builds a hub. The store is migrated and providers get a fresh heartbeat grace in <see cref="StartAsync"/>.</summary>
    public static WebApplication Build(HubOptions options, TimeProvider? time = null, Action<ILoggingBuilder>? configureLogging = null)
    {
        Directory.CreateDirectory(options.DataDirectory);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "kumo-hub" });
        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 64L << 20);
        builder.Logging.ClearProviders();
        if (configureLogging is null)
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            });
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        }
        else
        {
            configureLogging(builder.Logging);
        }

        IServiceCollection services = builder.Services;
        services.Configure<JsonOptions>(o =>
        {
            foreach (var converter in KumoJson.Options.Converters)
            {
                o.SerializerOptions.Converters.Add(converter);
            }

            o.SerializerOptions.DefaultIgnoreCondition = KumoJson.Options.DefaultIgnoreCondition;
        });
        services.AddSingleton(options);
        services.AddSingleton(time ?? TimeProvider.System);
        services.AddSingleton<IHubStore>(_ => new SqliteHubStore(Path.Combine(options.DataDirectory, "hub.db")));
        services.AddSingleton<EnvelopeAuthenticator>();
        services.AddSingleton<HubSignals>();
        services.AddSingleton<ProviderSessions>();
        services.AddSingleton<ContentStore>();
        services.AddSingleton<ProviderService>();
        services.AddSingleton<LeaseCoordinator>();
        services.AddSingleton<JobService>();
        services.AddSingleton<ControlChannel>();
        services.AddSingleton<ReputationKeeper>();
        services.AddSingleton<NetworkMeasurements>();
        services.AddSingleton<MarketService>();
        services.AddSingleton<NetworkProber>();
        services.AddSingleton<LeaseWatchdog>();
        services.AddSingleton<LedgerService>();
        services.AddSingleton<LedgerReconciler>();
        services.AddSingleton<RefereeService>();
        services.AddSingleton<HardwareProofService>();
        services.AddSingleton<ProviderCheckService>();
        services.AddSingleton<ResultVerifier>();
        services.AddSingleton<ValidatorDispatch>();
        services.AddSingleton<DisputeService>();
        services.AddSingleton<StateRevealService>();
        services.AddSingleton<ExecReplicationService>();
        services.AddSingleton<ReplicationFees>();
        services.AddHostedService(sp => sp.GetRequiredService<LedgerService>());
        services.AddHostedService(sp => sp.GetRequiredService<LedgerReconciler>());
        services.AddHostedService(sp => sp.GetRequiredService<MarketService>());
        services.AddHostedService(sp => sp.GetRequiredService<NetworkProber>());
        services.AddHostedService(sp => sp.GetRequiredService<ResultVerifier>());
        services.AddHostedService(sp => sp.GetRequiredService<ExecReplicationService>());
        services.AddHostedService(sp => sp.GetRequiredService<LeaseWatchdog>());
        services.AddHostedService(sp => sp.GetRequiredService<HardwareProofService>());
        services.AddHostedService(sp => sp.GetRequiredService<ProviderCheckService>());
        services.AddOpenApi("v1", o => o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = "Kumo hub API";
            doc.Info.Version = "v1";
            doc.Info.Description = "Signed requests (SignedEnvelope bodies) change state; reads are open. Errors are RFC 7807 problem+json with a stable 'code'.";
            return Task.CompletedTask;
        }));

        WebApplication app = builder.Build();
        app.UseMiddleware<ProblemMiddleware>();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(15) });
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapHubApi();
        app.MapLedgerApi();
        app.MapMarketApi();
        return app;
    }

    /// <summary>Migrates the store, gives every provider a fresh heartbeat grace (the hub was away, not they), then starts serving.</summary>
    public static async Task StartAsync(WebApplication app, CancellationToken cancellationToken = default)
    {
        IHubStore store = app.Services.GetRequiredService<IHubStore>();
        TimeProvider time = app.Services.GetRequiredService<TimeProvider>();
        await store.MigrateAsync(cancellationToken);
        await app.Services.GetRequiredService<LedgerService>().InitializeAsync(cancellationToken);
        await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
        {
            long now = time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (ProviderRecord provider in await tx.ListProvidersAsync())
            {
                if (provider.Status == ProviderStatus.Online)
                {
                    await tx.UpdateProviderLivenessAsync(provider.Id, ProviderStatus.Online, now, provider.LastHeartbeatSeq);
                }
            }

            await tx.CommitAsync();
        }

        await app.StartAsync(cancellationToken);
    }
}
