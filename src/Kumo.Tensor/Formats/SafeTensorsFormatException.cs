namespace Kumo.Tensor.Formats;

/// <summary>
/// A safetensors file (or a quantized layout inside one) that breaks the format. Weights come from untrusted providers
/// and tenants, so every refusal is this one type, thrown before anything is allocated on the file's word, with a
/// message naming the tensor and the numbers that disagree — enough to tell a truncated download from a forged header.
/// </summary>
public sealed class SafeTensorsFormatException : Exception
{
    public SafeTensorsFormatException()
    {
    }

    public SafeTensorsFormatException(string message)
        : base(message)
    {
    }

    public SafeTensorsFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
