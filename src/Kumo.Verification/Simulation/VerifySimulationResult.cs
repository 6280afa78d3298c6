using System.Text;
using System.Text.Json;

namespace Kumo.Verification.Simulation;

/// <summary>
/// Figures of one <see cref="VerifySimulator"/> run. Detection rates are the fraction of trials in which the cheater
/// was slashed (a validator dropped, for the silent one); <c>caught_at</c> is the median over those trials of the
/// segment index (0-based, jobs' time) at which it happened — for the wrong exec output, the index of the exec job.
/// </summary>
public sealed record VerifySimulationResult
{
    public required IReadOnlyDictionary<string, double> DetectionRate { get; init; }

    public required IReadOnlyDictionary<string, double?> CaughtAt { get; init; }

    /// <summary>Honest providers or validators slashed: must be 0.</summary>
    public int FalseSlashes { get; init; }

    /// <summary>1 + verification training steps (validators, canaries, disputes, audits) ÷ the jobs' own steps.</summary>
    public double Overhead { get; init; }

    /// <summary>
    /// The same ratio in measured wall time, counting as verification's cost the providers' committing to (hashing and
    /// keeping) their state inside each segment, besides the checks themselves.
    /// </summary>
    public double OverheadWall { get; init; }

    /// <summary>Of that: the providers' commitments alone, ÷ the jobs' own training time.</summary>
    public double CommitOverheadWall { get; init; }

    /// <summary>What one commitment costs next to one training step, measured on this machine before the trials.</summary>
    public double CommitCost { get; init; }

    /// <summary>The commit interval every provider was held to (<c>--commit-every</c>), or null where each chose its own.</summary>
    public int? CommitEvery { get; init; }

    /// <summary>Segments delivered at each commit interval (steps between commitments).</summary>
    public IReadOnlyDictionary<int, int> CommitIntervals { get; init; } = new Dictionary<int, int>();

    /// <summary>Overhead on the work of providers still on probation (what a newcomer costs).</summary>
    public double OverheadProbation { get; init; }

    /// <summary>Overhead on the work of providers past probation (the steady state).</summary>
    public double OverheadTrusted { get; init; }

    public int MaxDisputeRounds { get; init; }

    /// <summary>
    /// ⌈log₂ T⌉ + ⌈log₂ ops⌉ for the longest dispute measured: the larger of the trials' bound and the 10,000-step game's.
    /// </summary>
    public int DisputeRoundBound { get; init; }

    public int Disputes { get; init; }

    /// <summary>
    /// The most rounds a dispute of the trials took: the real game over the checked steps of a segment, down to one
    /// operator of the job's real training step, which the referee recomputes.
    /// </summary>
    public int TrialDisputeRounds { get; init; }

    /// <summary>⌈log₂ k⌉ + ⌈log₂ ops⌉ for the trials' jobs: k steps per segment (the most a dispute spans), ops per step.</summary>
    public int TrialDisputeRoundBound { get; init; }

    /// <summary>Rounds of the refereed game over a 10,000-step segment with 64 operators per step (a cheat deep inside).</summary>
    public int DisputeRoundsT10000 { get; init; }

    /// <summary>⌈log₂ 10,000⌉ + ⌈log₂ 64⌉ = 20.</summary>
    public int DisputeRoundBoundT10000 { get; init; }

    public int Canaries { get; init; }

    public double Q { get; init; }

    public double QTrusted { get; init; }

    public int ProbationSegments { get; init; }

    /// <summary>1 − (1 − 0.1·q)^60: the promise for a newcomer cheating on 10% of segments.</summary>
    public double PredictedDetectionWithin60 { get; init; }

    /// <summary>Exec runs beyond the first ÷ exec jobs (replicas and tie-breakers).</summary>
    public double ExecReplicationOverhead { get; init; }

    public int Trials { get; init; }

    public int SegmentsPerJob { get; init; }

    public int StepsPerSegment { get; init; }

    public int ExecJobsPerTrial { get; init; }

    public double WallSeconds { get; init; }

    public ulong Seed { get; init; }

    /// <summary>
    /// How a sampled segment was checked: "spot_interval" (one commit interval, from the state the provider revealed
    /// before it) or "full_segment".
    /// </summary>
    public string Check { get; init; } = "spot_interval";

    /// <summary>One JSON object on one line, snake_case keys.</summary>
    public string ToJsonLine()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteStartObject("detection_rate");
            foreach ((string k, double v) in DetectionRate)
            {
                json.WriteNumber(k, Math.Round(v, 4));
            }

            json.WriteEndObject();
            json.WriteStartObject("caught_at");
            foreach ((string k, double? v) in CaughtAt)
            {
                if (v is { } x)
                {
                    json.WriteNumber(k, x);
                }
                else
                {
                    json.WriteNull(k);
                }
            }

            json.WriteEndObject();
            json.WriteNumber("false_slashes", FalseSlashes);
            json.WriteNumber("overhead", Math.Round(Overhead, 4));
            json.WriteNumber("overhead_wall", Math.Round(OverheadWall, 4));
            json.WriteNumber("commit_overhead_wall", Math.Round(CommitOverheadWall, 4));
            json.WriteNumber("overhead_probation", Math.Round(OverheadProbation, 4));
            json.WriteNumber("overhead_trusted", Math.Round(OverheadTrusted, 4));
            json.WriteNumber("max_dispute_rounds", MaxDisputeRounds);
            json.WriteNumber("dispute_round_bound", DisputeRoundBound);
            json.WriteNumber("disputes", Disputes);
            json.WriteNumber("trial_dispute_rounds", TrialDisputeRounds);
            json.WriteNumber("trial_dispute_round_bound", TrialDisputeRoundBound);
            json.WriteNumber("dispute_rounds_t10000", DisputeRoundsT10000);
            json.WriteNumber("dispute_round_bound_t10000", DisputeRoundBoundT10000);
            json.WriteNumber("canaries", Canaries);
            json.WriteString("check", Check);
            json.WriteNumber("commit_cost", Math.Round(CommitCost, 4));
            if (CommitEvery is { } every)
            {
                json.WriteNumber("commit_every", every);
            }
            else
            {
                json.WriteNull("commit_every");
            }

            json.WriteStartObject("commit_intervals");
            foreach ((int interval, int segments) in CommitIntervals)
            {
                json.WriteNumber(interval.ToString(System.Globalization.CultureInfo.InvariantCulture), segments);
            }

            json.WriteEndObject();
            json.WriteNumber("q", Q);
            json.WriteNumber("q_trusted", QTrusted);
            json.WriteNumber("probation_segments", ProbationSegments);
            json.WriteNumber("predicted_detection_within_60", Math.Round(PredictedDetectionWithin60, 4));
            json.WriteNumber("exec_replication_overhead", Math.Round(ExecReplicationOverhead, 4));
            json.WriteNumber("trials", Trials);
            json.WriteNumber("segments_per_job", SegmentsPerJob);
            json.WriteNumber("steps_per_segment", StepsPerSegment);
            json.WriteNumber("exec_jobs_per_trial", ExecJobsPerTrial);
            json.WriteNumber("wall_s", Math.Round(WallSeconds, 2));
            json.WriteNumber("seed", Seed);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public override string ToString() => ToJsonLine();
}
