using FsCheck;
using FsCheck.Fluent;
using static Kumo.Market.Tests.Fleet;

namespace Kumo.Market.Tests;

/// <summary>
/// Random histories of orders, bids (from the bid engine and forged), reservations, releases, selections,
/// leases, lease ends, expiries, closes and re-registrations that shrink or grow machines: no GPU is ever held by
/// two, and free + reserved + leased = inventory for every provider and resource after every step.
/// </summary>
public sealed class PromisePropertyTests
{
    [Fact]
    public void No_gpu_is_ever_promised_twice_and_capacity_always_adds_up()
    {
        var outcomes = new Dictionary<string, int>();
        Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed => new History(seed, outcomes).Play())
            .Check(Config.QuickThrowOnFailure.WithMaxTest(150));
        foreach (string kind in new[] { "reserve ok", "forged ok", "forged refused", "lease", "end", "release", "expire", "close", "shrink" })
        {
            Assert.True(outcomes.GetValueOrDefault(kind) > 0, $"no '{kind}' step happened: the generator misses a branch");
        }
    }

    private sealed class History(int seed, Dictionary<string, int> outcomes)
    {
        private readonly Random _rng = new(seed);
        private readonly MarketBook _book = new();
        private readonly Dictionary<string, MarketProvider> _declared = [];
        private readonly Dictionary<string, Bid> _bids = [];
        private readonly List<string> _leases = [];
        private readonly List<OrderRequest> _orders = [];
        private long _now = Now;
        private int _next;

        public void Play()
        {
            for (int i = 0; i < _rng.Next(2, 6); i++)
            {
                Declare(RandomMarket.Provider(_rng, $"p{i}") with { Online = true, Bonded = true });
            }

            for (int step = 0; step < 60; step++)
            {
                Step();
                Check();
            }
        }

        private void Count(string what) => outcomes[what] = outcomes.GetValueOrDefault(what) + 1;

        private void Declare(MarketProvider p)
        {
            _declared[p.Id] = p;
            UpsertResult result = _book.Upsert(p);
            foreach (Bid released in result.ReleasedReservations)
            {
                Assert.False(_book.IsReserved(released.Id));
            }
        }

        private void Step()
        {
            _now += _rng.Next(0, 20_000);
            switch (_rng.Next(10))
            {
                case 0 or 1:
                    {
                        OrderRequest order = RandomMarket.Order(_rng, $"o{_next++}", [.. _declared.Values]) with { MaxPricePerHour = 100 * K * 4, ExpectedDurationMs = 60_000 };
                        _book.OpenOrder(order, _now);
                        _orders.Add(order);
                        foreach (Candidate c in _book.FindCandidates(order, _now, _rng.Next(1, 5)))
                        {
                            // A candidate always bids, and its bid always reserves: the book found it free at that price.
                            Bid bid = BidEngine.Quote(c.Provider, order, _book, _now, _rng.Next(1_000, 60_000), $"b{_next++}")!;
                            Assert.NotNull(bid);
                            Assert.True(_book.TryReserve(bid, _now, out string? reason), reason);
                            _bids[bid.Id] = bid;
                            Count("reserve ok");
                        }

                        break;
                    }

                case 2 when _orders.Count > 0:
                    Forge();
                    break;
                case 3 when _bids.Count > 0:
                    if (_book.Release(_bids.Keys.ElementAt(_rng.Next(_bids.Count))))
                    {
                        Count("release");
                    }

                    break;
                case 4 or 5 when _orders.Count > 0:
                    {
                        OrderRequest order = _orders[_rng.Next(_orders.Count)];
                        if (_book.GetOrder(order.Id) is null)
                        {
                            break;
                        }

                        Selection s = _book.Select(order.Id, [.. _bids.Values.Where(b => b.OrderId == order.Id)], new ZoneLatencyMap(_book), _now);
                        if (s.Succeeded)
                        {
                            _leases.AddRange(_book.Lease(order.Id, s.Winners, _now).Select(l => l.LeaseId));
                            Count("lease");
                        }

                        break;
                    }

                case 6 when _leases.Count > 0:
                    {
                        string id = _leases[_rng.Next(_leases.Count)];
                        _leases.Remove(id);
                        Assert.True(_book.EndLease(id));
                        Count("end");
                        break;
                    }

                case 7:
                    if (_book.ExpireBids(_now).Count > 0)
                    {
                        Count("expire");
                    }

                    break;
                case 8 when _orders.Count > 0:
                    if (_book.CloseOrder(_orders[_rng.Next(_orders.Count)].Id))
                    {
                        Count("close");
                    }

                    break;
                case 9:
                    {
                        // Re-registration: drop or add GPUs, shrink or grow the host.
                        MarketProvider p = _declared.Values.ElementAt(_rng.Next(_declared.Count));
                        List<MarketGpu> gpus = [.. p.Gpus.Where(_ => _rng.Next(4) != 0)];
                        if (_rng.Next(3) == 0)
                        {
                            gpus.Add(Gpu($"{p.Id}-new{_next++}", H100));
                        }

                        Declare(p with { Gpus = gpus, CpuMillicores = p.CpuMillicores / _rng.Next(1, 3), MemoryBytes = p.MemoryBytes / _rng.Next(1, 3) });
                        Count("shrink");
                        break;
                    }
            }
        }

        /// <summary>A bid made up from any GPUs of any provider: often double-promising, often wrong in some other way.</summary>
        private void Forge()
        {
            OrderRequest order = _orders[_rng.Next(_orders.Count)];
            MarketProvider p = _declared.Values.ElementAt(_rng.Next(_declared.Count));
            List<MarketGpu> pool = [.. _declared.Values.SelectMany(d => d.Gpus)];
            var nodes = new List<NodeAllocation>();
            for (int n = 0; n < _rng.Next(1, 3); n++)
            {
                string[] uuids = [.. Enumerable.Range(0, order.Node.Gpus).Select(_ => _rng.Next(3) == 0 && pool.Count > 0 ? pool[_rng.Next(pool.Count)].Uuid : p.Gpus.Count > 0 ? p.Gpus[_rng.Next(p.Gpus.Count)].Uuid : "none")];
                string? model = uuids.Length == 0 ? null : pool.FirstOrDefault(g => g.Uuid == uuids[0])?.Model;
                nodes.Add(new NodeAllocation(order.Node.CpuMillicores, order.Node.MemoryBytes, order.Node.DiskBytes, uuids, model));
            }

            var bid = new Bid($"f{_next++}", order.Id, p.Id, nodes, _rng.Next(0, 2 * (int)K), _now + _rng.Next(1, 60_000));
            if (_book.TryReserve(bid, _now, out _))
            {
                _bids[bid.Id] = bid;
                Count("forged ok");
            }
            else
            {
                Count("forged refused");
            }
        }

        private void Check()
        {
            var holders = new Dictionary<string, string>();
            void Hold(string uuid, string holder)
            {
                Assert.False(holders.TryGetValue(uuid, out string? other), $"GPU {uuid} is held by {other} and {holder}");
                holders[uuid] = holder;
            }

            foreach (Bid bid in _bids.Values.Where(b => _book.IsReserved(b.Id)))
            {
                foreach (string uuid in bid.Nodes.SelectMany(n => n.GpuUuids))
                {
                    Hold(uuid, bid.Id);
                }
            }

            foreach (string id in _leases)
            {
                LeaseHandle lease = _book.GetLease(id)!;
                foreach (string uuid in lease.Allocation.GpuUuids)
                {
                    Hold(uuid, id);
                }
            }

            Assert.Equal(_bids.Values.Count(b => _book.IsReserved(b.Id)), _book.ReservationCount);
            Assert.Equal(_leases.Count, _book.LeaseCount);
            foreach (MarketProvider p in _declared.Values)
            {
                ProviderLoad load = _book.Load(p.Id)!;
                int held = p.Gpus.Count(g => holders.ContainsKey(g.Uuid));
                Assert.Equal(p.Gpus.Count - held, load.Free.Gpus);
                Assert.Equal(held, load.Reserved.Gpus + load.Leased.Gpus);
                Assert.Equal(p.Gpus.Count(g => !holders.ContainsKey(g.Uuid)), _book.Free(p.Id)!.GpuUuids.Count);
                if (load.Conflicts.Count == 0)
                {
                    Assert.Equal(load.Inventory.CpuMillicores, load.Free.CpuMillicores + load.Reserved.CpuMillicores + load.Leased.CpuMillicores);
                    Assert.Equal(load.Inventory.MemoryBytes, load.Free.MemoryBytes + load.Reserved.MemoryBytes + load.Leased.MemoryBytes);
                    Assert.Equal(load.Inventory.DiskBytes, load.Free.DiskBytes + load.Reserved.DiskBytes + load.Leased.DiskBytes);
                    Assert.Equal(load.Inventory.Gpus, load.Free.Gpus + load.Reserved.Gpus + load.Leased.Gpus);
                }
                else
                {
                    Assert.True(load.Free.CpuMillicores >= 0 && load.Free.MemoryBytes >= 0 && load.Free.DiskBytes >= 0);
                }
            }
        }
    }
}
