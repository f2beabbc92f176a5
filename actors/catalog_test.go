package actors_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"keel/actors"
	"keel/actors/actorspb"
	"keel/actors/catalogpb"
	"keel/store"
	"keel/store/storepb"
)

func profileOf(flavorID string) string { return "profile-" + flavorID }

// seedFlavor stores flavor id, named old-<id>, and its profile.
func seedFlavor(t *testing.T, s *fsmStore, id string) {
	t.Helper()
	s.write(t, storepb.CatalogPut(&storepb.FlavorProfile{Id: profileOf(id), Name: "profile", ProviderName: "amphora", FlavorData: "{}"}, 0))
	s.write(t, storepb.CatalogPut(&storepb.Flavor{Id: id, Name: "old-" + id, FlavorProfileId: profileOf(id), Enabled: true}, 0))
}

var (
	createFlavorProfile = operation{
		name: "CreateFlavorProfile", readsFirst: true, replies: true,
		call: func(ctx context.Context, c *actors.Client, id string, caller *actorspb.Caller) (string, error) {
			r, err := actors.CallCatalog(ctx, c, &catalogpb.WriteRequest{Caller: caller, Kind: storepb.CatalogKind_FLAVOR_PROFILE,
				Op: catalogpb.WriteRequest_CREATE, Key: id, Row: storepb.NewCatalogRow(&storepb.FlavorProfile{
					Name: newName + id, ProviderName: "amphora", FlavorData: "{}"})})
			p, _ := r.(*storepb.FlavorProfile)
			return p.GetName(), err
		},
		rename: func(cmd *storepb.Command, name string) { cmd.GetCatalog().GetRow().GetFlavorProfile().Name = name },
	}
	updateFlavor = operation{
		name: "UpdateFlavor", arrange: seedFlavor, readsFirst: true, replies: true,
		call: func(ctx context.Context, c *actors.Client, id string, caller *actorspb.Caller) (string, error) {
			r, err := actors.CallCatalog(ctx, c, &catalogpb.WriteRequest{Caller: caller, Kind: storepb.CatalogKind_FLAVOR,
				Op: catalogpb.WriteRequest_UPDATE, Key: id, Row: storepb.NewCatalogRow(&storepb.Flavor{Name: newName + id}),
				Fields: []string{"name"}})
			f, _ := r.(*storepb.Flavor)
			return f.GetName(), err
		},
		rename: func(cmd *storepb.Command, name string) { cmd.GetCatalog().GetRow().GetFlavor().Name = name },
	}
	deleteFlavor = operation{
		name: "DeleteFlavor", arrange: seedFlavor, readsFirst: true,
		call: func(ctx context.Context, c *actors.Client, id string, caller *actorspb.Caller) (string, error) {
			_, err := actors.CallCatalog(ctx, c, &catalogpb.WriteRequest{Caller: caller, Kind: storepb.CatalogKind_FLAVOR,
				Op: catalogpb.WriteRequest_DELETE, Key: id})
			return "", err
		},
		rename: func(*storepb.Command, string) {},
	}
)

// Operations of other kinds, for decisions only (their replies show no name).
var (
	// updateUsedProfile names the data of the profile a flavor uses, unchanged.
	updateUsedProfile = operation{
		name: "UpdateFlavorProfile", arrange: seedFlavor, readsFirst: true,
		call: func(ctx context.Context, c *actors.Client, id string, caller *actorspb.Caller) (string, error) {
			_, err := actors.CallCatalog(ctx, c, &catalogpb.WriteRequest{Caller: caller, Kind: storepb.CatalogKind_FLAVOR_PROFILE,
				Op: catalogpb.WriteRequest_UPDATE, Key: profileOf(id), Row: storepb.NewCatalogRow(&storepb.FlavorProfile{FlavorData: "{}"}),
				Fields: []string{"flavor_data"}})
			return "", err
		},
	}
	// setPoolQuota sets a project's pool quota, creating its row.
	setPoolQuota = operation{
		name: "SetQuota", readsFirst: true,
		call: func(ctx context.Context, c *actors.Client, id string, caller *actorspb.Caller) (string, error) {
			five := int32(5)
			_, err := actors.CallCatalog(ctx, c, &catalogpb.WriteRequest{Caller: caller, Kind: storepb.CatalogKind_QUOTA,
				Op: catalogpb.WriteRequest_UPDATE, Key: id, Row: storepb.NewCatalogRow(&storepb.Quota{Pool: &five}),
				Fields: []string{"pool"}, CreateMissing: true})
			return "", err
		},
	}
)

func TestCatalogGrainUnderFaults(t *testing.T) {
	s := newFSMStore(t)
	m := startGrainMember(t, s, grainTestSettings)
	runFaultScenarios(t, s, m.client, []operation{createFlavorProfile, updateFlavor, deleteFlavor})
}

// Other writers' commands on flavor (profile) id.

// flavorChanged is an update of the flavor by another writer.
func flavorChanged(change func(f *storepb.Flavor)) func(st *store.State, id string) *storepb.Command {
	return func(st *store.State, id string) *storepb.Command {
		cur, _ := st.Flavors.Get(id)
		f := proto.Clone(cur).(*storepb.Flavor)
		change(f)
		return storepb.CatalogPut(f, cur.Version)
	}
}

func flavorDeleted(st *store.State, id string) *storepb.Command {
	return storepb.CatalogDelete(storepb.CatalogKind_FLAVOR, id, 0)
}

// flavorNamedAsNew: another writer created a flavor with the name the request gives.
func flavorNamedAsNew(st *store.State, id string) *storepb.Command {
	return storepb.CatalogPut(&storepb.Flavor{Id: uuid.NewString(), Name: newName + id, FlavorProfileId: profileOf(id)}, 0)
}

// flavorUsed: another writer created a load balancer of the flavor.
func flavorUsed(st *store.State, id string) *storepb.Command {
	lbID := uuid.NewString()
	return &storepb.Command{Op: &storepb.Command_TreeTransaction{TreeTransaction: &storepb.TreeTransaction{
		Intent: storepb.TreeTransaction_CREATE_LOAD_BALANCER, Write: &storepb.TreeWrite{LoadBalancerId: lbID, LoadBalancer: &storepb.LoadBalancer{
			Id: lbID, ProjectId: "p", FlavorId: id, ProvisioningStatus: actors.StatusPendingCreate}}}}}
}

func flavorProfileCreated(st *store.State, id string) *storepb.Command {
	return storepb.CatalogPut(&storepb.FlavorProfile{Id: id, Name: "other", ProviderName: "amphora", FlavorData: "{}"}, 0)
}

func TestCatalogGrainDecisions(t *testing.T) {
	s := newFSMStore(t)
	m := startGrainMember(t, s, grainTestSettings)
	runDecisionCases(t, s, m.client, []decisionCase{
		{
			name: "lost the race to another create", op: createFlavorProfile,
			others: []func(*store.State, string) *storepb.Command{flavorProfileCreated},
			want:   actors.KindConflict, message: "Already an entity with that specified id",
		},
		{
			name: "lost the race to a change", op: updateFlavor,
			others: []func(*store.State, string) *storepb.Command{
				flavorChanged(func(f *storepb.Flavor) { f.Description = "other's" })},
			check: func(t *testing.T, r *faultRun) {
				// Decided again on the winner's row: both changes are stored.
				if f, _ := s.State().Current().Flavors.Get(r.id); f.Name != newName+r.id || f.Description != "other's" {
					t.Errorf("stored %q / %q, want both writers' changes", f.Name, f.Description)
				}
			},
		},
		{
			name: "lost every race", op: updateFlavor,
			others: []func(*store.State, string) *storepb.Command{
				flavorChanged(func(f *storepb.Flavor) { f.Description = "1" }),
				flavorChanged(func(f *storepb.Flavor) { f.Description = "2" }),
				flavorChanged(func(f *storepb.Flavor) { f.Description = "3" })},
			want: actors.KindConflict, message: "is being changed concurrently",
		},
		{
			name: "lost the race to a delete", op: updateFlavor,
			others: []func(*store.State, string) *storepb.Command{flavorDeleted},
			want:   actors.KindNotFound, message: "not found",
		},
		{
			name: "lost the race for its new name", op: updateFlavor,
			others: []func(*store.State, string) *storepb.Command{flavorNamedAsNew},
			want:   actors.KindConflict, message: "already exists",
		},
		{
			name: "lost the race to a delete", op: deleteFlavor,
			others: []func(*store.State, string) *storepb.Command{flavorDeleted},
			want:   actors.KindNotFound, message: "not found",
		},
		{
			name: "lost the race to a load balancer using it", op: deleteFlavor,
			others: []func(*store.State, string) *storepb.Command{flavorUsed},
			want:   actors.KindConflict, message: "is in use and cannot be modified",
		},
		{
			name: "names a used profile's data", op: updateUsedProfile,
			want: actors.KindConflict, message: "is in use and cannot be modified",
		},
		{
			// Quota puts are a compare-and-set like any row's: the grain decides
			// again on the row another writer created.
			name: "lost the race to another create", op: setPoolQuota,
			others: []func(*store.State, string) *storepb.Command{func(st *store.State, id string) *storepb.Command {
				seven := int32(7)
				return storepb.CatalogPut(&storepb.Quota{Id: id, Member: &seven}, 0)
			}},
			check: func(t *testing.T, r *faultRun) {
				if q, _ := s.State().Current().Quotas.Get(r.id); q.GetPool() != 5 || q.GetMember() != 7 {
					t.Errorf("stored %v, want both writers' quotas", q)
				}
			},
		},
		{
			// The refusal of a retried attempt is definite: the request is
			// resolved first, so its first attempt can no longer apply.
			name: "a retried attempt refused", op: deleteFlavor,
			arrange: func(t *testing.T, r *faultRun) {
				r.store.write(t, flavorDeleted(r.store.State().Current(), r.id))
				r.caller.Attempt = 1
			},
			want: actors.KindNotFound, message: "not found",
			check: func(t *testing.T, r *faultRun) {
				if n := r.store.resolutions(r.caller.RequestId); n != 1 {
					t.Errorf("resolved %d times, want once before refusing", n)
				}
				late := flavorDeleted(r.store.State().Current(), r.id)
				late.RequestId, late.DeadlineUnixMs = r.caller.RequestId, r.caller.DeadlineUnixMs
				if res, err := r.store.applyOne(late); err != nil || res.Code != storepb.CommandResult_ABORTED {
					t.Errorf("the first attempt arriving after the refusal: %v %v, want ABORTED", res, err)
				}
			},
		},
	})
}
