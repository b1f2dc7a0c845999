package tables

import (
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/rbac"
)

// Roles print their creation time as a date, not an age, as Kubernetes' printers do.
var createdAtColumn = meta.TableColumnDefinition{Name: "Created At", Type: "date",
	Description: "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC."}

func createdAt(t meta.Time) string { return t.Time.UTC().Format(time.RFC3339) }

var rolePrinter = printer([]meta.TableColumnDefinition{nameColumn, createdAtColumn},
	func(r *rbac.Role, _ time.Time) meta.TableRow {
		return meta.TableRow{Cells: []any{r.Name, createdAt(r.CreationTimestamp)}}
	})

var clusterRolePrinter = printer([]meta.TableColumnDefinition{nameColumn, createdAtColumn},
	func(r *rbac.ClusterRole, _ time.Time) meta.TableRow {
		return meta.TableRow{Cells: []any{r.Name, createdAt(r.CreationTimestamp)}}
	})

var bindingColumns = []meta.TableColumnDefinition{
	nameColumn,
	column("Role", "string", "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. This can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable."),
	ageColumn,
	wide("Users", "string", "Users in the roleBinding"),
	wide("Groups", "string", "Groups in the roleBinding"),
	wide("ServiceAccounts", "string", "ServiceAccounts in the roleBinding"),
}

var roleBindingPrinter = printer(bindingColumns, func(b *rbac.RoleBinding, now time.Time) meta.TableRow {
	return bindingRow(b.Name, b.RoleRef, b.Subjects, b.CreationTimestamp, now)
})

var clusterRoleBindingPrinter = printer(bindingColumns, func(b *rbac.ClusterRoleBinding, now time.Time) meta.TableRow {
	return bindingRow(b.Name, b.RoleRef, b.Subjects, b.CreationTimestamp, now)
})

// bindingRow: NAME ROLE AGE, then the wide USERS GROUPS SERVICEACCOUNTS.
func bindingRow(name string, ref rbac.RoleRef, subjects []rbac.Subject, created meta.Time, now time.Time) meta.TableRow {
	users, groups, sas, _ := rbac.SubjectsStrings(subjects)
	return meta.TableRow{Cells: []any{name, ref.Kind + "/" + ref.Name, age(created, now),
		strings.Join(users, ", "), strings.Join(groups, ", "), strings.Join(sas, ", ")}}
}
