package http

import (
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"

	"keel/store"
)

// attrKind says how an attribute renders, filters and sorts.
type attrKind int

const (
	kindString         attrKind = iota
	kindNullableString          // "" renders as null
	kindBool
	kindInt
	kindTimestamp // unix micros; 0 renders as null
	kindTags      // list of strings, filtered by tags / tags-any / not-tags / not-tags-any
	kindComputed  // rendered by a function; not filterable or sortable
)

// attr is one top-level attribute of a resource, as the API shows it.
type attr[T store.Entity] struct {
	name    string
	kind    attrKind
	str     func(T) string                       // kindString, kindNullableString; a kindComputed one filters by it
	boolean func(T) bool                         // kindBool
	integer func(T) int64                        // kindInt, kindTimestamp
	list    func(T) []string                     // kindTags
	render  func([]byte, T, *store.State) []byte // kindComputed; st is the snapshot read
	index   string                               // exact-match index answering a filter on this attribute
	keyJSON []byte                               // `"name":`, encoded once
	hidden  bool                                 // filterable, never rendered (Octavia filters on it, does not show it)
	omit    func(T, *store.State) bool           // when set and true, the attribute is left out (Octavia's unset attributes)
}

// i32 adapts an int32 getter to an int attribute.
func i32[T any](get func(T) int32) func(T) int64 {
	return func(v T) int64 { return int64(get(v)) }
}

// nullableList renders a list, or null when it is empty (Octavia's shape for
// allowed_cidrs, tls_versions, alpn_protocols).
func nullableList[T any](get func(T) []string) func([]byte, T, *store.State) []byte {
	return func(b []byte, v T, _ *store.State) []byte {
		if l := get(v); len(l) > 0 {
			return appendStringList(b, l)
		}
		return append(b, "null"...)
	}
}

// stringList renders a list ([] when empty).
func stringList[T any](get func(T) []string) func([]byte, T, *store.State) []byte {
	return func(b []byte, v T, _ *store.State) []byte { return appendStringList(b, get(v)) }
}

// tenantOf renders project_id again as the deprecated tenant_id.
func tenantOf[T store.Entity]() func([]byte, T, *store.State) []byte {
	return func(b []byte, v T, _ *store.State) []byte { return appendJSONString(b, v.GetProjectId()) }
}

// resource describes one API resource: its JSON names and attributes. The list
// conventions of seed 001 (filters, fields, sorting, pagination, links) are
// implemented once here, for every resource.
type resource[T store.Entity] struct {
	display  string // Octavia's name in messages: "Load Balancer"
	singular string // root key of one object: "loadbalancer"
	plural   string // root key of a list: "loadbalancers"
	links    string // key of the list's links: "loadbalancers_links"
	table    func(*store.State) *store.Table[T]
	attrs    []*attr[T]
	byName   map[string]*attr[T]
	rbac     string // its policy rules' prefix: os_load-balancer_api:<object>:
}

func newResource[T store.Entity](display, singular, plural string, table func(*store.State) *store.Table[T], attrs []*attr[T]) *resource[T] {
	r := &resource[T]{display: display, singular: singular, plural: plural, links: plural + "_links", table: table, attrs: attrs,
		byName: map[string]*attr[T]{}, rbac: rbacObjects[singular]}
	if r.rbac == "" {
		panic("http: no policy rules for " + singular)
	}
	for _, a := range attrs {
		r.byName[a.name] = a
		a.keyJSON = append(appendJSONString(nil, a.name), ':')
	}
	return r
}

// appendObject renders v with the selected fields (nil = all), in attribute order;
// computed attributes (references to other objects) read them from st.
func (r *resource[T]) appendObject(b []byte, v T, fields map[string]bool, st *store.State) []byte {
	o := openObject(b)
	for _, a := range r.attrs {
		if a.hidden || fields != nil && !fields[a.name] || a.omit != nil && a.omit(v, st) {
			continue
		}
		o.rawKey(a.keyJSON)
		switch a.kind {
		case kindString:
			o.b = appendJSONString(o.b, a.str(v))
		case kindNullableString:
			if s := a.str(v); s != "" {
				o.b = appendJSONString(o.b, s)
			} else {
				o.b = append(o.b, "null"...)
			}
		case kindBool:
			o.b = strconv.AppendBool(o.b, a.boolean(v))
		case kindInt:
			o.b = strconv.AppendInt(o.b, a.integer(v), 10)
		case kindTimestamp:
			o.b = appendTimestamp(o.b, a.integer(v))
		case kindTags:
			o.b = appendStringList(o.b, a.list(v))
		case kindComputed:
			o.b = a.render(o.b, v, st)
		}
	}
	return o.close()
}

// writeOne renders {"<singular>": {...}} with the request's fields.
func (r *resource[T]) writeOne(ctx *fasthttp.RequestCtx, status int, v T, st *store.State) {
	fields := fieldsOf(ctx)
	buf := getBuffer()
	b := append(*buf, '{')
	b = appendJSONString(b, r.singular)
	b = append(b, ':')
	b = r.appendObject(b, v, fields, st)
	b = append(b, '}')
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetStatusCode(status)
	ctx.SetBody(b) // copies into fasthttp's own pooled buffer
	putBuffer(buf, b)
}

// Response bodies are built in pooled buffers: a list page is tens of kilobytes.
var bufferPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func getBuffer() *[]byte { return bufferPool.Get().(*[]byte) }

func putBuffer(p *[]byte, b []byte) {
	if cap(b) > 1<<20 {
		return // let an unusually large one go
	}
	*p = b[:0]
	bufferPool.Put(p)
}

// fieldsOf returns the repeated `fields` parameters as a set (nil when absent).
func fieldsOf(ctx *fasthttp.RequestCtx) map[string]bool {
	vals := ctx.QueryArgs().PeekMulti("fields")
	if len(vals) == 0 {
		return nil
	}
	set := make(map[string]bool, len(vals))
	for _, v := range vals {
		set[string(v)] = true
	}
	return set
}

// Pagination limits, as Octavia's [api_settings] pagination_max_limit.
const maxPageLimit = 1000

type sortSpec struct {
	name string
	desc bool
}

type filterSpec struct {
	name  string
	value string
}

// listRequest is a parsed list query.
type listRequest struct {
	limit   int
	marker  string
	reverse bool
	sort    []sortSpec
	filters []filterSpec
	tags    map[string][]string // tags, tags-any, not-tags, not-tags-any
	carry   []filterSpec        // parameters repeated in links: filters and fields
	sortRaw []filterSpec        // sort parameters as given, repeated in links
}

var tagFilterKeys = map[string]bool{"tags": true, "tags-any": true, "not-tags": true, "not-tags-any": true}

// parseList reads limit, marker, page_reverse, sort / sort_key / sort_dir, fields
// and filters, validating each against the resource's attributes.
func (r *resource[T]) parseList(ctx *fasthttp.RequestCtx) (*listRequest, error) {
	req := &listRequest{limit: maxPageLimit, tags: map[string][]string{}}
	var sortKeys, sortDirs []string
	seen := map[string]bool{}
	var perr error
	ctx.QueryArgs().VisitAll(func(k, v []byte) {
		if perr != nil {
			return
		}
		key, val := string(k), string(v)
		switch key {
		case "limit":
			n, err := strconv.Atoi(val)
			if err != nil {
				perr = badRequest("Supplied pagination limit '%s' is not valid.", val)
				return
			}
			if n > 0 && n < maxPageLimit {
				req.limit = n
			}
		case "marker":
			req.marker = val
		case "page_reverse":
			b, ok := parseBool(val)
			if !ok {
				perr = badRequest("Invalid input for field/attribute page_reverse. Value: '%s'. Value should be boolean", val)
				return
			}
			req.reverse = b
		case "sort":
			req.sortRaw = append(req.sortRaw, filterSpec{key, val})
			for _, item := range strings.Split(val, ",") {
				parts := strings.Split(strings.TrimSpace(item), ":")
				if len(parts) > 2 {
					perr = badRequest("Supplied sort key '%s' is not valid.", item)
					return
				}
				spec := sortSpec{name: parts[0]}
				if len(parts) == 2 {
					d, ok := sortDirection(parts[1])
					if !ok {
						perr = badRequest("Supplied sort direction '%s' is not valid.", parts[1])
						return
					}
					spec.desc = d
				}
				req.sort = append(req.sort, spec)
			}
		case "sort_key":
			req.sortRaw = append(req.sortRaw, filterSpec{key, val})
			sortKeys = append(sortKeys, strings.Split(val, ",")...)
		case "sort_dir":
			req.sortRaw = append(req.sortRaw, filterSpec{key, val})
			sortDirs = append(sortDirs, strings.Split(val, ",")...)
		case "fields":
			req.carry = append(req.carry, filterSpec{key, val})
		default:
			if tagFilterKeys[key] {
				req.tags[key] = append(req.tags[key], strings.Split(val, ",")...)
				req.carry = append(req.carry, filterSpec{key, val})
				return
			}
			if key == "tenant_id" {
				key = "project_id"
			}
			a, ok := r.byName[key]
			// A computed attribute is filterable when it has a string form (str).
			if !ok || a.kind == kindComputed && a.str == nil || a.kind == kindTags || seen[key] {
				perr = badRequest("One or more arguments are either duplicate or invalid")
				return
			}
			seen[key] = true
			if err := validateFilterValue(a.name, a.kind, val); err != nil {
				perr = err
				return
			}
			req.filters = append(req.filters, filterSpec{key, val})
			req.carry = append(req.carry, filterSpec{string(k), val})
		}
	})
	if perr != nil {
		return nil, perr
	}
	if len(sortDirs) > len(sortKeys) {
		return nil, badRequest("The number of sort_keys and sort_dirs must be the same")
	}
	for i, k := range sortKeys {
		spec := sortSpec{name: strings.TrimSpace(k)}
		if i < len(sortDirs) {
			d, ok := sortDirection(strings.TrimSpace(sortDirs[i]))
			if !ok {
				return nil, badRequest("Supplied sort direction '%s' is not valid.", sortDirs[i])
			}
			spec.desc = d
		}
		req.sort = append(req.sort, spec)
	}
	for _, s := range req.sort {
		a, ok := r.byName[s.name]
		if !ok || a.kind == kindComputed || a.kind == kindTags {
			return nil, badRequest("Supplied sort key '%s' is not valid.", s.name)
		}
	}
	return req, nil
}

func sortDirection(s string) (desc bool, ok bool) {
	switch strings.ToLower(s) {
	case "asc":
		return false, true
	case "desc":
		return true, true
	}
	return false, false
}

// parseBool accepts what Octavia's strutils.bool_from_string does.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "on", "y", "yes":
		return true, true
	case "0", "f", "false", "off", "n", "no":
		return false, true
	}
	return false, false
}

func validateFilterValue(name string, kind attrKind, v string) error {
	switch kind {
	case kindBool:
		if _, ok := parseBool(v); !ok {
			return badRequest("Invalid input for field/attribute %s. Value: '%s'. Value should be boolean", name, v)
		}
	case kindInt:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return badRequest("Invalid input for field/attribute %s. Value: '%s'. Value should be integer", name, v)
		}
	}
	return nil
}

// query turns a parsed list request into a store query narrowed to project
// ("" for every project: the caller may read them all, or the list is narrowed
// by an authorized parent). A project_id filter narrows it further.
func (r *resource[T]) query(req *listRequest, project string) (store.Query[T], error) {
	q := store.Query[T]{Marker: req.marker, Limit: req.limit, Reverse: req.reverse, Project: project}
	var preds []func(T) bool
	for _, f := range req.filters {
		a := r.byName[f.name]
		if f.name == "project_id" {
			if q.Project != "" && q.Project != f.value {
				q.Match = func(T) bool { return false }
				return q, nil
			}
			q.Project = f.value
			continue
		}
		if a.index != "" && q.IndexFilter == nil {
			q.IndexFilter = &store.IndexFilter{Index: a.index, Value: f.value}
		}
		preds = append(preds, matcher(a, f.value))
	}
	for key, vals := range req.tags {
		preds = append(preds, tagMatcher(r.byName["tags"], key, vals))
	}
	if len(preds) > 0 {
		q.Match = func(v T) bool {
			for _, p := range preds {
				if !p(v) {
					return false
				}
			}
			return true
		}
	}
	for _, s := range req.sort {
		q.Order = append(q.Order, store.SortKey[T]{Compare: comparer(r.byName[s.name]), Desc: s.desc})
	}
	return q, nil
}

func matcher[T store.Entity](a *attr[T], value string) func(T) bool {
	switch a.kind {
	case kindBool:
		want, _ := parseBool(value)
		return func(v T) bool { return a.boolean(v) == want }
	case kindInt:
		want, _ := strconv.ParseInt(value, 10, 64)
		return func(v T) bool { return a.integer(v) == want }
	case kindTimestamp:
		return func(v T) bool { return formatTimestamp(a.integer(v)) == value }
	default:
		return func(v T) bool { return a.str(v) == value }
	}
}

func tagMatcher[T store.Entity](a *attr[T], key string, want []string) func(T) bool {
	has := func(v T, tag string) bool {
		for _, t := range a.list(v) {
			if t == tag {
				return true
			}
		}
		return false
	}
	return func(v T) bool {
		all, any := true, false
		for _, t := range want {
			if has(v, t) {
				any = true
			} else {
				all = false
			}
		}
		switch key {
		case "tags":
			return all
		case "tags-any":
			return any
		case "not-tags":
			return !all
		default: // not-tags-any
			return !any
		}
	}
}

func comparer[T store.Entity](a *attr[T]) func(x, y T) int {
	switch a.kind {
	case kindBool:
		return func(x, y T) int {
			bx, by := a.boolean(x), a.boolean(y)
			switch {
			case bx == by:
				return 0
			case !bx:
				return -1
			}
			return 1
		}
	case kindInt, kindTimestamp:
		return func(x, y T) int {
			ix, iy := a.integer(x), a.integer(y)
			switch {
			case ix < iy:
				return -1
			case ix > iy:
				return 1
			}
			return 0
		}
	default:
		return func(x, y T) int { return strings.Compare(a.str(x), a.str(y)) }
	}
}

// writeList renders {"<plural>": [...], "<plural>_links": [...]} for a page.
func (r *resource[T]) writeList(ctx *fasthttp.RequestCtx, req *listRequest, page store.Page[T], st *store.State) {
	fields := fieldsOf(ctx)
	buf := getBuffer()
	b := append(*buf, '{')
	b = appendJSONString(b, r.plural)
	b = append(b, ':', '[')
	for i, it := range page.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.appendObject(b, it, fields, st)
	}
	b = append(b, ']', ',')
	b = appendJSONString(b, r.links)
	b = append(b, ':', '[')
	b = appendLinks(b, ctx, req, page)
	b = append(b, ']', '}')
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetBody(b)
	putBuffer(buf, b)
}

// appendLinks adds the "previous" and "next" links (seed 001): a forward page has
// "next" when more items follow and "previous" when it started at a marker; a
// reverse page has "previous" when more items precede and always "next". Unlike
// Octavia, links keep the request's filters and fields, so following them pages
// the same filtered list.
func appendLinks[T store.Entity](b []byte, ctx *fasthttp.RequestCtx, req *listRequest, page store.Page[T]) []byte {
	if len(page.Items) == 0 {
		return b
	}
	first, last := page.Items[0].GetId(), page.Items[len(page.Items)-1].GetId()
	prev := (!req.reverse && req.marker != "") || (req.reverse && page.More)
	next := (!req.reverse && page.More) || req.reverse
	n := 0
	link := func(rel, marker string, reverse bool) {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"href":`...)
		b = appendJSONString(b, linkHref(ctx, req, marker, reverse))
		b = append(b, `,"rel":`...)
		b = appendJSONString(b, rel)
		b = append(b, '}')
	}
	if next {
		link("next", last, false)
	}
	if prev {
		link("previous", first, true)
	}
	return b
}

func linkHref(ctx *fasthttp.RequestCtx, req *listRequest, marker string, reverse bool) string {
	var sb strings.Builder
	sb.WriteString("http://")
	sb.Write(ctx.Host())
	sb.WriteString(requestPath(ctx))
	sb.WriteString("?limit=")
	sb.WriteString(strconv.Itoa(req.limit))
	for _, p := range req.sortRaw {
		sb.WriteString("&" + url.QueryEscape(p.name) + "=" + url.QueryEscape(p.value))
	}
	for _, p := range req.carry {
		sb.WriteString("&" + url.QueryEscape(p.name) + "=" + url.QueryEscape(p.value))
	}
	sb.WriteString("&marker=")
	sb.WriteString(url.QueryEscape(marker))
	if reverse {
		sb.WriteString("&page_reverse=True")
	}
	return sb.String()
}

// serveList answers a list request for r: parse, authorize, read after a barrier,
// render. narrow, when set, adds the constraint of a parent in the path (a pool's
// members) and may refuse (404 for a missing parent, 403 for a parent the caller
// may not list the children of). Without it, the list is Octavia's get_all: every
// project's objects for a global reader, else the caller's project (or the one
// its project_id filter names, if the policy allows).
func serveList[T store.Entity](s *Server, ctx *fasthttp.RequestCtx, r *resource[T], narrow func(st *store.State, q *store.Query[T]) error) error {
	req, err := r.parseList(ctx)
	if err != nil {
		return err
	}
	project := ""
	if narrow == nil && hasGlobalList(r.rbac) {
		filter := ""
		for _, f := range req.filters {
			if f.name == "project_id" {
				filter = f.value
			}
		}
		if project, err = listScope(ctx, r.rbac, filter); err != nil {
			return err
		}
	}
	q, err := r.query(req, project)
	if err != nil {
		return err
	}
	if err := s.barrier(); err != nil {
		return err
	}
	st := s.store.State().Current()
	if narrow != nil {
		if err := narrow(st, &q); err != nil {
			return err
		}
	}
	page, err := store.List(r.table(st), q)
	if err == store.ErrInvalidMarker {
		return badRequest("Supplied pagination marker '%s' is not valid.", req.marker)
	}
	if err != nil {
		return err
	}
	r.writeList(ctx, req, page, st)
	return nil
}

// serveShow answers GET of one object: 404 (with Octavia's name for it) when it
// does not exist or belongs to another parent, 403 when it is another project's.
func serveShow[T store.Entity](s *Server, ctx *fasthttp.RequestCtx, r *resource[T], id string, belongs func(T) bool) error {
	if err := s.barrier(); err != nil {
		return err
	}
	st := s.store.State().Current()
	v, found := r.table(st).Get(id)
	if !found || (belongs != nil && !belongs(v)) {
		return notFound("%s %s not found.", r.display, id)
	}
	if err := authorize(ctx, r.rbac+actGetOne, v.GetProjectId()); err != nil {
		return err
	}
	r.writeOne(ctx, fasthttp.StatusOK, v, st)
	return nil
}

// narrowBy restricts a list to the children of one parent, through an index.
func narrowBy[T store.Entity](index, value string, field func(T) string) func(*store.State, *store.Query[T]) error {
	return func(_ *store.State, q *store.Query[T]) error {
		q.IndexFilter = &store.IndexFilter{Index: index, Value: value}
		prev := q.Match
		q.Match = func(v T) bool { return field(v) == value && (prev == nil || prev(v)) }
		return nil
	}
}
