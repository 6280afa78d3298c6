namespace Kumo.IntegrationTests;
