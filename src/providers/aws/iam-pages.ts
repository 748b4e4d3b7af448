/** One page of a paged IAM listing (IAM API reference, "Marker" and "IsTruncated" of every List action). */
export interface IamPage {
  IsTruncated?: boolean;
  Marker?: string;
}

/**
 * Every page of a paged IAM listing, in order: `listPage` is called with the previous page's `Marker` (undefined
 * for the first) until a page is not truncated. An error from `listPage` is thrown to the caller as it is.
 */
export async function* iamPages<Page extends IamPage>(
  listPage: (marker: string | undefined) => Promise<Page>,
): AsyncGenerator<Page, void, undefined> {
  let marker: string | undefined;
  do {
    const page = await listPage(marker);
    yield page;
    marker = page.IsTruncated === true ? page.Marker : undefined;
  } while (marker !== undefined);
}
