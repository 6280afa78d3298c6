using System.Buffers.Binary;
using System.Security.Cryptography;
using Kumo.Tensor.Models;
using Kumo.Tensor.Training;

namespace Kumo.Verification.Disputes;

/// <summary>
/// A cheap stand-in for a training step, for dispute games over 10,000 steps (tests and `kumo sim verify`): the state is four floats; operator j of step s
/// computes x ← x·1.5 + ((s·j) mod 7) elementwise, hashed into the same kind of chain a traced training step produces
/// (last output = the state root). <paramref name="tamper"/> makes one (step, operator) add 1 to x[0]: a cheater.
/// </summary>
public sealed class SyntheticStepMachine(int operators, (int Step, int Operator)? tamper = null) : IStepReplayer
{
    public int OperatorCount => operators;

    public static TrainingState Start { get; } = new(0, [new NamedTensor("x", [4], [1f, 2f, 3f, 4f])], []);

    public StepTrace Trace(TrainingState before)
    {
        int step = before.Step + 1;
        float[] x = [.. before.Weights[0].Data];
        var records = new List<OperatorRecord>(operators);
        string chain = before.RootHex();
        for (int j = 0; j < operators; j++)
        {
            for (int i = 0; i < x.Length; i++)
            {
                x[i] = (x[i] * 1.5f % 1000f) + ((long)step * j % 7);
            }

            if (tamper == (step, j))
            {
                x[0] += 1f;
            }

            string output;
            if (j == operators - 1)
            {
                output = new TrainingState(step, [new NamedTensor("x", [4], [.. x])], []).RootHex();
            }
            else
            {
                byte[] buffer = new byte[32 + 4 + 16];
                Convert.FromHexString(chain).CopyTo(buffer, 0);
                BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(32), j);
                for (int i = 0; i < 4; i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(36 + (4 * i)), x[i]);
                }

                output = Convert.ToHexStringLower(SHA256.HashData(buffer));
            }

            records.Add(new OperatorRecord(j, "synthetic", chain, output));
            chain = output;
        }

        return new StepTrace(step, records, new TrainingState(step, [new NamedTensor("x", [4], x)], []));
    }
}
