namespace Kumo.Hub.Storage;

/// <summary>
/// The data directory holds state this version cannot read: written by another version of Kumo whose stored
/// formats differ, or edited. Nothing is changed; the operator chooses between another version and a new directory.
/// </summary>
public sealed class IncompatibleDataException(string message, Exception? inner = null) : Exception(message, inner);
