namespace Kumo.Hub.Tests;
