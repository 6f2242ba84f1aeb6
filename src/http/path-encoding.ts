/**
 * A request path that is not valid percent-encoded UTF-8 (`/api/notifications/%E0%A4%A`)
 * is refused with 400 VALIDATION_FAILED, whichever route it would have reached (the
 * router only decodes parameters of a matching route and raised a 500 there).
 */
import type { RequestHandler } from 'express';
import { HttpError } from './errors.js';

export const rejectBadPathEncoding: RequestHandler = (req, _res, next) => {
  if (req.path.includes('%')) {
    try {
      decodeURIComponent(req.path);
    } catch {
      return next(new HttpError('VALIDATION_FAILED', 'the path is not valid percent-encoded UTF-8'));
    }
  }
  next();
};
