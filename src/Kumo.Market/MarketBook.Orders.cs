using System.Globalization;
using Kumo.Market.Internal;

namespace Kumo.Market;

public sealed partial class MarketBook
{
    private readonly Dictionary<string, OrderState> _orders = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Hold> _reservations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Hold> _leases = new(StringComparer.Ordinal);
    private readonly PriorityQueue<string, long> _expiries = new();

    /// <summary>Orders open for bids.</summary>
    public int OpenOrderCount => _orders.Count;

    /// <summary>Bids holding a reservation.</summary>
    public int ReservationCount => _reservations.Count;

    /// <summary>Leases running.</summary>
    public int LeaseCount => _leases.Count;

    /// <summary>Opens an order for bids; reservations are checked against it.</summary>
    /// <exception cref="ArgumentException">The order is invalid.</exception>
    /// <exception cref="InvalidOperationException">An order with this id is already open.</exception>
    public void OpenOrder(OrderRequest order, long now)
    {
        ThrowIfInvalid(order);
        if (!_orders.TryAdd(order.Id, new OrderState(order, now)))
        {
            throw new InvalidOperationException($"order {order.Id} is already open");
        }
    }

    /// <summary>Closes an order without a lease, releasing all its reservations. False if it was not open.</summary>
    public bool CloseOrder(string orderId)
    {
        if (!_orders.Remove(orderId, out OrderState? order))
        {
            return false;
        }

        foreach (string bidId in order.Bids)
        {
            if (_reservations.Remove(bidId, out Hold? hold))
            {
                hold.Provider!.Detach(hold);
            }
        }

        return true;
    }

    /// <summary>The open order with this id, or null.</summary>
    public OrderRequest? GetOrder(string orderId) => _orders.TryGetValue(orderId, out OrderState? o) ? o.Order : null;

    /// <summary>When the open order was opened (Unix ms), for the hub's order expiry; null if not open.</summary>
    public long? OrderOpenedAt(string orderId) => _orders.TryGetValue(orderId, out OrderState? o) ? o.OpenedAt : null;

    /// <summary>Whether the bid holds a reservation now.</summary>
    public bool IsReserved(string bidId) => _reservations.ContainsKey(bidId);

    /// <summary>
    /// Reserves the capacity a bid offers, until it expires, is released, or is leased. Refused (with the reason,
    /// changing nothing) for: an order not open, a bid id already reserved, an expired bid, an unknown, offline or
    /// unbonded provider, a provider the order excludes or that misses its region, reputation or attestation, a
    /// node count of 0 or above the order's, a price above the order's maximum (per-node share × nodes for a
    /// cluster), a node that does not satisfy the requirement, a GPU not on that provider or listed twice, a
    /// node mixing GPU models or misnaming its model, and capacity already reserved or leased.
    /// </summary>
    public bool TryReserve(Bid bid, long now, out string? reason)
    {
        reason = ReserveProblem(bid, now, out ProviderState? state, out int[][]? gpus, out long cpu, out long memory, out long disk);
        if (reason is not null)
        {
            return false;
        }

        var hold = new Hold
        {
            Id = bid.Id,
            OrderId = bid.OrderId,
            Provider = state,
            Bid = bid,
            Gpus = gpus!,
            Cpu = cpu,
            Memory = memory,
            Disk = disk,
            ExpiresAt = bid.ExpiresAt,
        };
        state!.Attach(hold);
        _reservations.Add(bid.Id, hold);
        _orders[bid.OrderId].Bids.Add(bid.Id);
        _expiries.Enqueue(bid.Id, bid.ExpiresAt);
        return true;
    }

    private string? ReserveProblem(Bid bid, long now, out ProviderState? state, out int[][]? gpus, out long cpu, out long memory, out long disk)
    {
        state = null;
        gpus = null;
        cpu = memory = disk = 0;
        if (bid is null || string.IsNullOrEmpty(bid.Id) || bid.Nodes is null)
        {
            return "the bid is incomplete";
        }

        if (!_orders.TryGetValue(bid.OrderId ?? "", out OrderState? open))
        {
            return $"order {bid.OrderId} is not open";
        }

        if (_reservations.ContainsKey(bid.Id))
        {
            return $"bid {bid.Id} is already reserved";
        }

        if (bid.ExpiresAt <= now)
        {
            return $"bid {bid.Id} expired at {bid.ExpiresAt}";
        }

        if (!_providers.TryGetValue(bid.ProviderId ?? "", out state))
        {
            return $"unknown provider {bid.ProviderId}";
        }

        OrderRequest order = open.Order;
        var query = Query(order);
        Verdict verdict = query.CheckProvider(state.Provider);
        if (verdict != Verdict.Ok)
        {
            return $"provider {bid.ProviderId} {Singular(Reason(verdict, query))}";
        }

        int k = bid.Nodes.Count;
        if (k == 0 || k > order.Nodes)
        {
            return $"bid {bid.Id} covers {k} node{(k == 1 ? "" : "s")}; the order needs {order.Nodes}";
        }

        if (bid.PricePerHour < 0)
        {
            return $"bid {bid.Id} has a negative price";
        }

        if ((Int128)bid.PricePerHour > (Int128)order.MaxPerNodeHour * k)
        {
            return order.Nodes == 1
                ? $"bid {bid.Id} asks {bid.PricePerHour} µKUMO/h, above the order's maximum of {order.MaxPricePerHour}"
                : $"bid {bid.Id} asks {bid.PricePerHour} µKUMO/h for {k} nodes, above {k} × the per-node share {order.MaxPerNodeHour} of the order's maximum {order.MaxPricePerHour}";
        }

        NodeRequirement want = order.Node;
        gpus = new int[k][];
        // GPUs this bid already lists, by index on the provider: a GPU may appear once.
        bool[] seen = state.Holder.Length == 0 ? [] : new bool[state.Holder.Length];
        for (int n = 0; n < k; n++)
        {
            NodeAllocation node = bid.Nodes[n];
            if (node is null || node.GpuUuids is null)
            {
                return $"node {n} of bid {bid.Id} is incomplete";
            }

            if (node.CpuMillicores < want.CpuMillicores || node.MemoryBytes < want.MemoryBytes || node.DiskBytes < want.DiskBytes)
            {
                return $"node {n} of bid {bid.Id} allocates less CPU, memory or disk than the order requires";
            }

            if (node.GpuUuids.Count != want.Gpus)
            {
                return $"node {n} of bid {bid.Id} has {node.GpuUuids.Count} GPUs; the order wants {want.Gpus} per node";
            }

            if (want.Gpus == 0 && node.GpuModel is not null)
            {
                return $"node {n} of bid {bid.Id} names a GPU model but has no GPUs";
            }

            int[] indices = new int[node.GpuUuids.Count];
            for (int i = 0; i < indices.Length; i++)
            {
                string uuid = node.GpuUuids[i];
                if (!state.GpuIndex.TryGetValue(uuid, out int index))
                {
                    return $"GPU {uuid} is not on provider {state.Provider.Id}";
                }

                if (seen[index])
                {
                    return $"GPU {uuid} appears twice in bid {bid.Id}";
                }

                seen[index] = true;
                ModelInfo model = state.Groups[state.GroupOf[index]].Model;
                if (!string.Equals(model.Model, node.GpuModel, StringComparison.Ordinal))
                {
                    return $"GPU {uuid} is a {model.Model}, but node {n} of bid {bid.Id} says {node.GpuModel ?? "no model"} (a node has GPUs of one model)";
                }

                if (!query.Fits(model))
                {
                    return $"GPU {uuid} ({model.Model}) does not match the order's {want.DescribeGpu()}";
                }

                if (state.Holder[index] is { } holder)
                {
                    return holder.IsLease
                        ? $"GPU {uuid} is already leased to lease {holder.Id}"
                        : $"GPU {uuid} is already promised to bid {holder.Id}";
                }

                indices[i] = index;
            }

            gpus[n] = indices;
            cpu += node.CpuMillicores;
            memory += node.MemoryBytes;
            disk += node.DiskBytes;
        }

        if (cpu > state.FreeCpu)
        {
            return $"provider {state.Provider.Id} has {state.FreeCpu} millicores free; bid {bid.Id} needs {cpu}";
        }

        if (memory > state.FreeMemory)
        {
            return $"provider {state.Provider.Id} has {state.FreeMemory} bytes of memory free; bid {bid.Id} needs {memory}";
        }

        return disk > state.FreeDisk
            ? $"provider {state.Provider.Id} has {state.FreeDisk} bytes of disk free; bid {bid.Id} needs {disk}"
            : null;
    }

    /// <summary>Releases a bid's reservation. False if it held none.</summary>
    public bool Release(string bidId)
    {
        if (!_reservations.TryGetValue(bidId, out Hold? hold))
        {
            return false;
        }

        DropReservation(hold);
        return true;
    }

    /// <summary>Releases every reservation whose bid expired at or before <paramref name="now"/> and returns those bids, earliest first.</summary>
    public IReadOnlyList<Bid> ExpireBids(long now)
    {
        var expired = new List<Bid>();
        while (_expiries.TryPeek(out string? bidId, out long at) && at <= now)
        {
            _expiries.Dequeue();
            // Entries of bids released or leased since are stale: skip them.
            if (_reservations.TryGetValue(bidId, out Hold? hold) && hold.ExpiresAt <= now)
            {
                DropReservation(hold);
                expired.Add(hold.Bid!);
            }
        }

        return expired;
    }

    private void DropReservation(Hold hold)
    {
        _reservations.Remove(hold.Id);
        hold.Provider!.Detach(hold);
        if (_orders.TryGetValue(hold.OrderId, out OrderState? order))
        {
            order.Bids.Remove(hold.Id);
        }
    }

    /// <summary>
    /// Turns the winners' reservations into leases, one per node, with ids "{orderId}/{n}" (n = 0.. in winners'
    /// order); see the overload for caller ids.
    /// </summary>
    public IReadOnlyList<LeaseHandle> Lease(string orderId, IReadOnlyList<Bid> winners, long now)
    {
        int nodes = winners?.Sum(w => w?.Nodes?.Count ?? 0) ?? 0;
        return Lease(orderId, winners!, [.. Enumerable.Range(0, nodes).Select(n => string.Create(CultureInfo.InvariantCulture, $"{orderId}/{n}"))], now);
    }

    /// <summary>
    /// Turns the winners' reservations into leases — one <see cref="LeaseHandle"/> per node, ids from
    /// <paramref name="leaseIds"/> in winners' node order — releases every other bid of the order (and the
    /// untaken nodes of a bid taken in part), records each node's clearing price, and closes the order. Winners are
    /// <see cref="Selection.Winners"/>: reserved bids of this order, unexpired, possibly cut to their first nodes at
    /// <see cref="MarketRules.SharesOfFirst"/>, together covering exactly the order's nodes. All or nothing: on any
    /// mismatch it throws and changes nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">The order is not open, or the winners do not match reservations and the order.</exception>
    public IReadOnlyList<LeaseHandle> Lease(string orderId, IReadOnlyList<Bid> winners, IReadOnlyList<string> leaseIds, long now)
    {
        if (LeaseProblem(orderId, winners, leaseIds, now) is { } problem)
        {
            throw new InvalidOperationException($"cannot lease order {orderId}: {problem}");
        }

        OrderState order = _orders[orderId];
        var handles = new List<LeaseHandle>(leaseIds.Count);
        int next = 0;
        foreach (Bid winner in winners)
        {
            Hold reservation = _reservations[winner.Id];
            Bid reserved = reservation.Bid!;
            ProviderState state = reservation.Provider!;
            DropReservation(reservation);
            for (int i = 0; i < winner.Nodes.Count; i++)
            {
                NodeAllocation node = reserved.Nodes[i];
                long price = MarketRules.NodeShare(reserved.PricePerHour, reserved.Nodes.Count, i);
                long? end = order.Order.ExpectedDurationMs is { } d ? now + d : null;
                var handle = new LeaseHandle(leaseIds[next++], orderId, winner.Id, state.Provider.Id, node, price, now, end);
                var lease = new Hold
                {
                    Id = handle.LeaseId,
                    OrderId = orderId,
                    IsLease = true,
                    Provider = state,
                    Lease = handle,
                    Gpus = [reservation.Gpus[i]],
                    Cpu = node.CpuMillicores,
                    Memory = node.MemoryBytes,
                    Disk = node.DiskBytes,
                };
                state.Attach(lease);
                _leases.Add(handle.LeaseId, lease);
                handles.Add(handle);
                RecordNodeClearing(node, price, now);
            }
        }

        CloseOrder(orderId);
        return handles;
    }

    private string? LeaseProblem(string orderId, IReadOnlyList<Bid> winners, IReadOnlyList<string> leaseIds, long now)
    {
        if (!_orders.TryGetValue(orderId, out OrderState? order))
        {
            return "it is not open";
        }

        if (winners is null || winners.Count == 0)
        {
            return "no winners";
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        int nodes = 0;
        foreach (Bid winner in winners)
        {
            if (winner?.Nodes is null || !ids.Add(winner.Id))
            {
                return "a winner is missing or listed twice";
            }

            if (!_reservations.TryGetValue(winner.Id, out Hold? hold) || !string.Equals(hold.OrderId, orderId, StringComparison.Ordinal))
            {
                return $"bid {winner.Id} holds no reservation for this order";
            }

            if (hold.ExpiresAt <= now)
            {
                return $"bid {winner.Id} expired at {hold.ExpiresAt}";
            }

            Bid reserved = hold.Bid!;
            int taken = winner.Nodes.Count;
            if (taken == 0 || taken > reserved.Nodes.Count || !string.Equals(winner.ProviderId, reserved.ProviderId, StringComparison.Ordinal))
            {
                return $"bid {winner.Id} does not match its reservation";
            }

            for (int i = 0; i < taken; i++)
            {
                if (!winner.Nodes[i].SameAs(reserved.Nodes[i]))
                {
                    return $"node {i} of bid {winner.Id} differs from its reservation";
                }
            }

            if (winner.PricePerHour != MarketRules.SharesOfFirst(reserved.PricePerHour, reserved.Nodes.Count, taken))
            {
                return $"bid {winner.Id} is priced {winner.PricePerHour}, not its reserved share {MarketRules.SharesOfFirst(reserved.PricePerHour, reserved.Nodes.Count, taken)}";
            }

            nodes += taken;
        }

        if (nodes != order.Order.Nodes)
        {
            return $"winners cover {nodes} nodes; the order needs {order.Order.Nodes}";
        }

        if (leaseIds is null || leaseIds.Count != nodes)
        {
            return $"{leaseIds?.Count ?? 0} lease ids for {nodes} nodes";
        }

        var distinct = new HashSet<string>(StringComparer.Ordinal);
        foreach (string id in leaseIds)
        {
            if (string.IsNullOrEmpty(id) || !distinct.Add(id) || _leases.ContainsKey(id))
            {
                return $"lease id '{id}' is empty, repeated or already in use";
            }
        }

        return null;
    }

    /// <summary>
    /// Holds the capacity of a lease made outside this book — one the hub's store already had when it (re)built the
    /// book — like any lease of its own. Refused (changing nothing) for a lease id in use, an unknown provider, a
    /// GPU the provider does not have or one another hold has. Host resources are taken even beyond what is free: the
    /// lease runs whatever the book thinks, so the provider is full rather than promised twice.
    /// </summary>
    public bool AdoptLease(LeaseHandle lease, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(lease);
        reason = null;
        if (_leases.ContainsKey(lease.LeaseId))
        {
            reason = $"lease {lease.LeaseId} is already in the book";
            return false;
        }

        if (!_providers.TryGetValue(lease.ProviderId, out ProviderState? state))
        {
            reason = $"unknown provider {lease.ProviderId}";
            return false;
        }

        NodeAllocation node = lease.Allocation;
        int[] indices = new int[node.GpuUuids.Count];
        for (int i = 0; i < indices.Length; i++)
        {
            if (!state.GpuIndex.TryGetValue(node.GpuUuids[i], out int index))
            {
                reason = $"GPU {node.GpuUuids[i]} is not on provider {lease.ProviderId}";
                return false;
            }

            if (state.Holder[index] is { } holder)
            {
                reason = $"GPU {node.GpuUuids[i]} is already held by {holder.Id}";
                return false;
            }

            indices[i] = index;
        }

        var hold = new Hold
        {
            Id = lease.LeaseId,
            OrderId = lease.OrderId,
            IsLease = true,
            Provider = state,
            Lease = lease,
            Gpus = [indices],
            Cpu = node.CpuMillicores,
            Memory = node.MemoryBytes,
            Disk = node.DiskBytes,
        };
        state.Attach(hold);
        _leases.Add(lease.LeaseId, hold);
        return true;
    }

    /// <summary>Ends a lease and frees its capacity. False if no such lease runs.</summary>
    public bool EndLease(string leaseId)
    {
        if (!_leases.Remove(leaseId, out Hold? hold))
        {
            return false;
        }

        hold.Provider!.Detach(hold);
        return true;
    }

    /// <summary>The running lease with this id, or null.</summary>
    public LeaseHandle? GetLease(string leaseId) => _leases.TryGetValue(leaseId, out Hold? hold) ? hold.Lease : null;

    private sealed class OrderState(OrderRequest order, long openedAt)
    {
        public OrderRequest Order { get; } = order;
        public long OpenedAt { get; } = openedAt;
        public HashSet<string> Bids { get; } = new(StringComparer.Ordinal);
    }
}
