namespace Kumo.Client;
