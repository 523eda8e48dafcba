// The one way the UI talks to the server: JSON over /api/v1 with the bearer token, errors
// turned into ApiError carrying the server's stable code.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export type Role = "patient" | "doctor" | "researcher" | "admin";

export interface User {
  id: string;
  username: string;
  email: string;
  role: Role;
  status: string;
  did: string;
  created_at: string;
}

interface TokenPair {
  access_token: string;
  refresh_token: string;
  user: User;
}

const STORAGE_KEY = "meditrustal.session";

interface Session {
  access: string;
  refresh: string;
}

function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

let session: Session | null = loadSession();
const logoutListeners = new Set<() => void>();

function saveSession(next: Session | null) {
  session = next;
  if (next) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  else sessionStorage.removeItem(STORAGE_KEY);
}

export function hasSession(): boolean {
  return session !== null;
}

/** Called when the session ends without the user asking (refresh token refused). */
export function onSessionLost(listener: () => void): () => void {
  logoutListeners.add(listener);
  return () => logoutListeners.delete(listener);
}

async function errorFrom(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as {
      error?: { code?: string; message?: string; details?: Record<string, unknown> };
    };
    const error = body.error ?? {};
    return new ApiError(
      response.status,
      error.code ?? "HTTP_" + response.status,
      error.message ?? response.statusText,
      error.details ?? {},
    );
  } catch {
    return new ApiError(response.status, "HTTP_" + response.status, response.statusText);
  }
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  body?: BodyInit;
  contentType?: string;
  query?: Record<string, string | number | undefined>;
  signal?: AbortSignal;
}

function url(path: string, query?: RequestOptions["query"]): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== "") params.set(key, String(value));
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

async function send(path: string, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = {};
  if (session) headers.Authorization = `Bearer ${session.access}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.contentType) {
    headers["Content-Type"] = options.contentType;
  }
  return fetch(url(path, options.query), {
    method: options.method ?? "GET",
    headers,
    body,
    signal: options.signal,
  });
}

let refreshing: Promise<boolean> | null = null;

async function refreshSession(): Promise<boolean> {
  const current = session;
  if (!current) return false;
  const response = await fetch("/api/v1/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: current.refresh }),
  });
  if (!response.ok) {
    saveSession(null);
    logoutListeners.forEach((listener) => listener());
    return false;
  }
  const pair = (await response.json()) as TokenPair;
  saveSession({ access: pair.access_token, refresh: pair.refresh_token });
  return true;
}

/** Sends a request; an expired access token is refreshed once and the request repeated. */
export async function request(path: string, options: RequestOptions = {}): Promise<Response> {
  let response = await send(path, options);
  if (response.status === 401 && session) {
    const error = await errorFrom(response.clone());
    if (error.code === "TOKEN_EXPIRED") {
      refreshing ??= refreshSession().finally(() => (refreshing = null));
      if (await refreshing) response = await send(path, options);
    }
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await request(path, options);
  return (await response.json()) as T;
}

export async function login(username: string, password: string): Promise<User> {
  const pair = await api<TokenPair>("/api/v1/auth/login", {
    method: "POST",
    json: { username, password },
  });
  saveSession({ access: pair.access_token, refresh: pair.refresh_token });
  return pair.user;
}

export async function logout(): Promise<void> {
  const current = session;
  saveSession(null);
  if (current) {
    await fetch("/api/v1/auth/logout", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${current.access}` },
      body: JSON.stringify({ refresh_token: current.refresh }),
    }).catch(() => undefined);
  }
}
