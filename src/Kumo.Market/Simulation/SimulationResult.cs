using System.Text;
using System.Text.Json;

namespace Kumo.Market.Simulation;

/// <summary>
/// Figures of one simulation run. Wall times cover the matching work only (opening orders, finding candidates,
/// quoting, reserving, selecting, leasing, closing, ending leases and expiring bids), not building the fleet or
/// the feasibility checks.
/// </summary>
public sealed record SimulationResult
{
    public int Providers { get; init; }
    public int Gpus { get; init; }
    public int CpuOnlyProviders { get; init; }
    public int Orders { get; init; }
    public int LeasedOrders { get; init; }

    /// <summary>Orders that some set of providers could host at submission, given free capacity then (see docs/MARKET.md).</summary>
    public int FeasibleOrders { get; init; }
    public int InfeasibleOrders { get; init; }

    /// <summary>Feasible orders filled / feasible orders (1 when there are none).</summary>
    public double FeasibleFilledFraction { get; init; }

    /// <summary>Leased orders / wall seconds of the matching work.</summary>
    public double OrdersMatchedPerSecond { get; init; }
    public double P50OrderToLeaseMs { get; init; }
    public double P99OrderToLeaseMs { get; init; }
    public double MatchingWallSeconds { get; init; }

    public int Cluster64Orders { get; init; }
    public int Cluster64Leased { get; init; }

    /// <summary>Median wall ms from opening a 64-GPU cluster order to its lease (null when none leased).</summary>
    public double? Cluster64LeaseMs { get; init; }
    public double? Cluster64MaxMs { get; init; }

    /// <summary>Cluster orders that needed the second, wider round of candidates.</summary>
    public int Cluster64SecondRounds { get; init; }

    public double MeanCandidates { get; init; }
    public double GpuUtilizationPeak { get; init; }
    public double GpuUtilizationEnd { get; init; }

    /// <summary>Process peak working set, MB.</summary>
    public double PeakMemoryMb { get; init; }

    /// <summary>Largest managed heap seen (sampled), MB.</summary>
    public double GcHeapPeakMb { get; init; }

    /// <summary>Time the garbage collector paused the process during the measured run (feasibility checks included), ms.</summary>
    public double GcPauseMs { get; init; }
    public double BuildFleetMs { get; init; }

    /// <summary>Orders of the unmeasured warm-up run.</summary>
    public int WarmupOrders { get; init; }
    public int Seed { get; init; }

    /// <summary>Feasible orders that were not filled, with why Select failed: empty when the engine kept its promise.</summary>
    public IReadOnlyList<string> Missed { get; init; } = [];

    /// <summary>Infeasible orders by the constraint that excluded the most providers (for one node) or the largest latency group (clusters).</summary>
    public IReadOnlyDictionary<string, int> InfeasibleBy { get; init; } = new Dictionary<string, int>();

    /// <summary>One JSON object on one line, snake_case keys.</summary>
    public string ToJsonLine()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteNumber("orders_matched_per_s", Round(OrdersMatchedPerSecond, 1));
            json.WriteNumber("p50_order_to_lease_ms", Round(P50OrderToLeaseMs, 4));
            json.WriteNumber("p99_order_to_lease_ms", Round(P99OrderToLeaseMs, 4));
            WriteNullable(json, "cluster64_lease_ms", Cluster64LeaseMs);
            WriteNullable(json, "cluster64_max_ms", Cluster64MaxMs);
            json.WriteNumber("cluster64_orders", Cluster64Orders);
            json.WriteNumber("cluster64_leased", Cluster64Leased);
            json.WriteNumber("cluster64_second_rounds", Cluster64SecondRounds);
            json.WriteNumber("feasible_filled_fraction", Round(FeasibleFilledFraction, 6));
            json.WriteNumber("peak_memory_mb", Round(PeakMemoryMb, 1));
            json.WriteNumber("gc_heap_peak_mb", Round(GcHeapPeakMb, 1));
            json.WriteNumber("gc_pause_ms", Round(GcPauseMs, 1));
            json.WriteNumber("providers", Providers);
            json.WriteNumber("gpus", Gpus);
            json.WriteNumber("cpu_only_providers", CpuOnlyProviders);
            json.WriteNumber("orders", Orders);
            json.WriteNumber("leased_orders", LeasedOrders);
            json.WriteNumber("feasible_orders", FeasibleOrders);
            json.WriteNumber("infeasible_orders", InfeasibleOrders);
            json.WriteNumber("missed_feasible_orders", Missed.Count);
            json.WriteNumber("mean_candidates", Round(MeanCandidates, 2));
            json.WriteNumber("gpu_utilization_peak", Round(GpuUtilizationPeak, 4));
            json.WriteNumber("gpu_utilization_end", Round(GpuUtilizationEnd, 4));
            json.WriteNumber("matching_wall_s", Round(MatchingWallSeconds, 4));
            json.WriteNumber("build_fleet_ms", Round(BuildFleetMs, 1));
            json.WriteNumber("warmup_orders", WarmupOrders);
            json.WriteNumber("seed", Seed);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The same figures for a person.</summary>
    public override string ToString() => ToJsonLine();

    private static void WriteNullable(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, Round(v, 3));
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static double Round(double value, int digits) => Math.Round(value, digits, MidpointRounding.AwayFromZero);
}
