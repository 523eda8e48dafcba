// Who is signed in. The session's tokens live in api.ts; this context holds the account.

import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import type { ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import * as api from "./api";
import type { User } from "./api";

interface Auth {
  user: User | null;
  /** True until a stored session has been checked with /me. */
  loading: boolean;
  login: (username: string, password: string) => Promise<User>;
  logout: () => Promise<void>;
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [user, setUser] = useState<User | null>(null);
  const [loading, setLoading] = useState(api.hasSession());

  useEffect(() => {
    if (!api.hasSession()) return;
    api
      .api<User>("/api/v1/me")
      .then(setUser)
      .catch(() => setUser(null))
      .finally(() => setLoading(false));
  }, []);

  useEffect(() => api.onSessionLost(() => setUser(null)), []);

  const login = useCallback(
    async (username: string, password: string) => {
      const account = await api.login(username, password);
      queryClient.clear();
      setUser(account);
      return account;
    },
    [queryClient],
  );

  const logout = useCallback(async () => {
    await api.logout();
    queryClient.clear();
    setUser(null);
  }, [queryClient]);

  const value = useMemo(() => ({ user, loading, login, logout }), [user, loading, login, logout]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const context = useContext(AuthContext);
  if (!context) throw new Error("useAuth outside AuthProvider");
  return context;
}
