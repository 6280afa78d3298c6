namespace Kumo.Hub;
