using System.Security.Cryptography;
using System.Text.Json;
using Kumo.Serialization;

namespace Kumo.Ledger;

/// <summary>
/// The ledger's constitution: every rule that can create or move money without its owner's signature is here,
/// and its hash is the previous-block hash of block 1, so a replay with other rules does not match.
/// </summary>
public sealed record Genesis
{
    public required string ChainId { get; init; }

    /// <summary>Unix milliseconds; the emission schedule counts from here.</summary>
    public required long Time { get; init; }

    /// <summary>Network fee of each settlement, in basis points (200 = 2%, as io.net).</summary>
    public int NetworkFeeBps { get; init; } = 200;

    /// <summary>Reserve share of each settlement, in basis points (25 = 0.25%, as io.net).</summary>
    public int ReserveBps { get; init; } = 25;

    /// <summary>Stake a provider needs per device (each GPU; a machine without GPUs counts as one) to be offered work.</summary>
    public long MinBondPerDevice { get; init; } = 100 * Amounts.MicrosPerKumo;

    /// <summary>How long unbonded stake stays locked — and slashable — before it can be withdrawn.</summary>
    public long UnbondingPeriodMs { get; init; } = (long)TimeSpan.FromDays(7).TotalMilliseconds;

    /// <summary>Fraction of a staker's stake one proven fault takes, in basis points.</summary>
    public int SlashBps { get; init; } = 1000;

    /// <summary>Part of a slash paid to whoever proved the fault, in basis points of the slash; the rest is burned.</summary>
    public int SlashBountyBps { get; init; } = 5000;

    /// <summary>
    /// Fraction of its stake a provider loses, in basis points, for each lease the ledger closed with a provider-side
    /// reason (heartbeat lost, unstable, …); it compensates the order's tenant.
    /// </summary>
    public int FaultSlashBps { get; init; } = 100;

    /// <summary>
    /// Most the network fee pool pays validators for checking one job, in basis points of what the job paid its
    /// providers (the referee's <c>validation_reward</c>s; the pool holds the network fee of every settlement). 0, the
    /// default: this network pays no validation rewards.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public int ValidationRewardBps { get; init; }

    /// <summary>
    /// Most an <c>exec</c> provider may sign over to the replication pool, in basis points of its share of a lease's
    /// pay (<see cref="Protocol.LeaseAcceptance.ReplicationFeeBps"/>): the pool pays the replicas that re-run its jobs.
    /// 0, the default: no replication fees, and replicas are paid as validators (from the fee pool, within
    /// <see cref="ValidationRewardBps"/>), as on networks from before.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public int MaxReplicationFeeBps { get; init; }

    /// <summary>A running lease is settled at least this often.</summary>
    public long SettlementIntervalMs { get; init; } = 60_000;

    /// <summary>A signed transaction's timestamp may differ from the time it is applied by at most this.</summary>
    public long ClockSkewMs { get; init; } = 300_000;

    /// <summary>
    /// The referee's account: the only signer whose verification verdicts (a lost dispute, a failed hardware proof, a
    /// wrong canary) can slash. Null: refereed slashes are refused on this network.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Referee { get; init; }

    /// <summary>Devnet only: lets anyone mint a little for testing. Null on real networks.</summary>
    public FaucetRule? Faucet { get; init; }

    public EmissionSchedule Rewards { get; init; } = new();

    /// <summary>Balances at genesis (minted from issuance).</summary>
    public IReadOnlyList<GenesisAllocation> Allocations { get; init; } = [];

    public byte[] Hash() => SHA256.HashData(CanonicalJson.Serialize(this, KumoJson.Options));

    public string ToJson() => JsonSerializer.Serialize(this, KumoJson.Indented);

    public static Genesis FromJson(string json) =>
        JsonSerializer.Deserialize<Genesis>(json, KumoJson.Options) ?? throw new JsonException("genesis is null");

    /// <summary>Refuses parameters that would break the ledger's arithmetic or make no sense.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(ChainId))
        {
            errors.Add("chainId is empty");
        }

        if (Referee is not null && !Crypto.AccountId.TryParse(Referee, out _, out string refereeProblem))
        {
            errors.Add($"referee: {refereeProblem}");
        }

        if (NetworkFeeBps < 0 || ReserveBps < 0 || NetworkFeeBps + ReserveBps > 10_000)
        {
            errors.Add("networkFeeBps and reserveBps must be ≥ 0 and together ≤ 10000");
        }

        if (SlashBps is < 0 or > 10_000 || SlashBountyBps is < 0 or > 10_000 || FaultSlashBps is < 0 or > 10_000 || ValidationRewardBps is < 0 or > 10_000
            || MaxReplicationFeeBps is < 0 or > 10_000)
        {
            errors.Add("slashBps, slashBountyBps, faultSlashBps, validationRewardBps and maxReplicationFeeBps must be 0..10000");
        }

        if (MinBondPerDevice < 0 || UnbondingPeriodMs < 0 || SettlementIntervalMs <= 0 || ClockSkewMs <= 0)
        {
            errors.Add("minBondPerDevice and unbondingPeriodMs must be ≥ 0; settlementIntervalMs and clockSkewMs > 0");
        }

        if (Rewards.RewardBps is < 0 or > 10_000 || Rewards.HalvingEveryMs <= 0 || Rewards.Cap is < 0 or > Amounts.MaxAmount)
        {
            errors.Add("rewards: rewardBps 0..10000, halvingEveryMs > 0, cap 0..2^53-1");
        }

        long total = 0;
        foreach (GenesisAllocation allocation in Allocations)
        {
            if (!LedgerAddress.TryParse(allocation.Account, out LedgerAddress address, out string why) || address.Kind != AccountKind.User)
            {
                errors.Add($"allocation to '{allocation.Account}': not a user account ({why})");
            }

            if (allocation.Amount is <= 0 or > Amounts.MaxAmount)
            {
                errors.Add($"allocation to '{allocation.Account}': amount {allocation.Amount} outside 1..2^53-1");
            }

            total += Math.Clamp(allocation.Amount, 0, Amounts.MaxAmount);
            if (total > Amounts.MaxAmount)
            {
                errors.Add("allocations add up to more than 2^53-1 µKUMO");
                break;
            }
        }

        return errors;
    }

    /// <summary>A devnet genesis: faucet on, short unbonding and settlement intervals so effects show within a demo.</summary>
    public static Genesis Devnet(long time) => new()
    {
        ChainId = "kumo-devnet",
        Time = time,
        UnbondingPeriodMs = 30_000,
        SettlementIntervalMs = 5_000,
        ValidationRewardBps = 2_000,
        MaxReplicationFeeBps = 10_000,
        Faucet = new FaucetRule(MaxPerRequest: 10_000 * Amounts.MicrosPerKumo, MaxPerAccount: 1_000_000 * Amounts.MicrosPerKumo),
    };

    /// <summary>
    /// A production-style genesis: no faucet; money exists only by allocation and emission. Validators are paid from
    /// the fee pool (up to 20% of what a job paid, as on a devnet): unpaid, a rational validator re-executes nothing.
    /// <c>exec</c> replicas are paid in full from the replication fees of the providers they check.
    /// </summary>
    public static Genesis Network(string chainId, long time, IReadOnlyList<GenesisAllocation> allocations) => new()
    {
        ChainId = chainId,
        Time = time,
        ValidationRewardBps = 2_000,
        MaxReplicationFeeBps = 10_000,
        Allocations = allocations,
    };
}

/// <summary>Devnet faucet limits, in µKUMO.</summary>
public sealed record FaucetRule(long MaxPerRequest, long MaxPerAccount);

/// <summary>
/// Provider rewards: each settlement mints <see cref="RewardBps"/> of the provider's share on top, halving every
/// <see cref="HalvingEveryMs"/> since genesis, until <see cref="Cap"/> µKUMO have been emitted in total.
/// </summary>
public sealed record EmissionSchedule
{
    public int RewardBps { get; init; } = 1000;

    public long HalvingEveryMs { get; init; } = (long)TimeSpan.FromDays(365).TotalMilliseconds;

    public long Cap { get; init; } = 100_000_000 * Amounts.MicrosPerKumo;
}

public sealed record GenesisAllocation(string Account, long Amount);
