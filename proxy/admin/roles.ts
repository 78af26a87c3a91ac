// Separated duties of the admin API: which role a client certificate holds (by subject CN, per smgate.yaml
// `admin.roles`) and which role each route requires. One role per certificate; none → every route refused.
export type AdminRole = "admin" | "auditor" | "operator" | "application";
export const ADMIN_ROLES: readonly AdminRole[] = ["admin", "auditor", "operator", "application"];

export type RoleMap = Partial<Record<AdminRole, string[]>>;

export class RoleResolver {
  private readonly byCn = new Map<string, AdminRole>();

  constructor(roles: RoleMap = {}) {
    for (const role of ADMIN_ROLES) {
      for (const cn of roles[role] ?? []) {
        const had = this.byCn.get(cn);
        if (had && had !== role) {
          throw new Error(
            `admin.roles: certificate CN "${cn}" is listed for both ${had} and ${role}; duties must be separate`,
          );
        }
        this.byCn.set(cn, role);
      }
    }
  }

  roleOf(cn: string | undefined): AdminRole | undefined {
    return cn === undefined ? undefined : this.byCn.get(cn);
  }
}
