namespace Kumo.Provider.Tests;
