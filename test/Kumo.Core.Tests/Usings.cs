namespace Kumo.Core.Tests;
